"""Persistence: the run ledger in SQL (SQLAlchemy 2 + Alembic) and per-spot HDF5 files."""
