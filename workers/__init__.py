"""RQ jobs: module-level functions that take ids and are idempotent."""
