"""The patient-facing portal and the staff view (to come)."""
