"""Reminders: the suite's clock - what falls due when, and telling people (to come)."""
