"""Intake: inbound messages become items in a province's triage queue."""
