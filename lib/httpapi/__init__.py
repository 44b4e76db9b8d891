"""What every clinicpay HTTP service shares: problem responses, staff auth, health, tracing."""

from httpapi.access import Accesses, AccessLog
from httpapi.app import create_service_app
from httpapi.problems import Problem, ProblemSpec
from httpapi.staff import Staff, require_roles

__all__ = [
    "AccessLog",
    "Accesses",
    "Problem",
    "ProblemSpec",
    "Staff",
    "create_service_app",
    "require_roles",
]
