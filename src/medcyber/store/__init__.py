"""The store: SQLAlchemy 2 models, sessions and Alembic migrations (SQLite and PostgreSQL)."""

from .db import Store, StoreError, open_store

__all__ = ["Store", "StoreError", "open_store"]
