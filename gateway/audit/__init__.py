"""The append-only audit log: every action and every view of message text or audio."""
