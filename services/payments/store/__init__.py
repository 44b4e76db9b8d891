"""PostgreSQL adapters of payments: the event store's recorder, index tables, read models."""
