"""Alembic migrations for the storage schema (run by ``storage.open_database``)."""
