"""`python -m migration_gate`: the same as the `migration-gate` command."""

from migration_gate.cli import main

raise SystemExit(main())
