"""Configuration, read once at the edge into frozen values: `[tool.migration-gate]`, the
Alembic ini file, command-line flags and the environment variables the tool documents."""
