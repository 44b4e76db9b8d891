"""PostgreSQL plumbing shared by the services: URLs, databases, schemas."""

from storage.database import DatabaseUrl, ensure_database, migration_session

__all__ = ["DatabaseUrl", "ensure_database", "migration_session"]
