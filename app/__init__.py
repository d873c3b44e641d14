"""The reference chat service of migration-gate: SQLAlchemy models and a small FastAPI API.

Its schema is managed by the Alembic chain in ``migrations/``; the API never migrates.
"""
