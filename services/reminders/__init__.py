"""The reminders service: what falls due when, per clinic policy, and telling people about it."""
