"""The patient portal and the staff view: server-rendered pages over the other services'
HTTP read models and commands. The portal keeps only its own sessions and link state."""
