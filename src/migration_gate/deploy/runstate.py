"""The state one deploy or drift check shares, and its pre-flight.

`RunState` holds the report being built, the files' checksums, the expected schemas and the
deploy section; `preflight` runs the pre-flight's decisions (`preflight.py`) on what the
database holds, and `drift` the schema check with the lock file's hash as the fast path and
a scratch database for a real diff.
"""

from __future__ import annotations

import time
from dataclasses import replace

from migration_gate.chain.checksum import decode_source
from migration_gate.chain.failures import step_finding
from migration_gate.chain.runner import StepFailed
from migration_gate.db import urls
from migration_gate.deploy.expected import ExpectedSchemas
from migration_gate.deploy.files import FileFacts, read_files
from migration_gate.deploy.live import LiveState
from migration_gate.deploy.plan import Plan
from migration_gate.deploy.preflight import (
    SCHEMA_DRIFT,
    When,
    drift_finding,
    ledger_findings,
    unversioned_finding,
)
from migration_gate.deploy.project import Project, Target, version_table
from migration_gate.deploy.section import DeploySection
from migration_gate.errors import GateError
from migration_gate.findings import Finding, Report
from migration_gate.lock.lockfile import LockFile, parse_lock
from migration_gate.snapshot import SchemaSnapshot

__all__ = ["RunState"]


def _lock_file(project: Project, report: Report) -> LockFile | None:
    path = project.lock_file
    if path is None or not path.is_file():
        return None
    try:
        return parse_lock(decode_source(path.read_bytes()), source=path.name)
    except (GateError, UnicodeDecodeError, SyntaxError) as exc:
        report.add(
            Finding(
                check=SCHEMA_DRIFT,
                severity="info",
                message=f"the lock file cannot vouch for any schema ({exc}); expected schemas "
                "are built on a scratch database",
            )
        )
        return None


class RunState:
    """State shared by the steps of one deploy or drift check."""

    def __init__(self, project: Project, target: Target, command: str) -> None:
        self.project = project
        self.target = target
        self.env = target.environment
        self.report = Report(command)
        self.t0 = time.perf_counter()
        self.files: FileFacts = read_files(project.chain)
        self.dialect = urls.dialect_of(target.url)
        self.expected = ExpectedSchemas(
            project.source,
            project.chain,
            self.files,
            _lock_file(project, self.report),
            dialect=self.dialect,
            provider=lambda: project.scratch(self.dialect),
            setup=project.setup,
        )
        self.section = DeploySection(environment=self.env, database=urls.mask(target.url))
        #: the pre-flight's drift check: alone (drift) or before a deploy
        self.when: When = "drift" if command == "drift" else "before"
        self.expected_from = ""

    def timed(self, name: str, since: float) -> None:
        self.report.timings[f"deploy.{name}"] = time.perf_counter() - since

    def finish(self) -> Report:
        self.report.deploy = replace(self.section, expected_from=self.expected_from)
        self.report.timings["deploy.total"] = time.perf_counter() - self.t0
        return self.report

    # -- pre-flight ----------------------------------------------------------------------
    def drift(
        self,
        heads: tuple[str, ...],
        live: SchemaSnapshot,
        *,
        allow: bool,
        when: When,
        built: SchemaSnapshot | None = None,
    ) -> Finding | None:
        """The drift check at `heads`: the lock file's hash, else a real diff."""
        vouched = self.expected.lock_hash(heads)
        if vouched is not None and vouched == f"sha256:{live.sha256()}":
            self.expected_from = self.expected_from or "lock file"
            return None
        try:
            expected = built if built is not None else self.expected.build(heads)
        except StepFailed as exc:
            info = self.project.chain.infos.get(exc.revision or "")
            if info is None:
                raise
            return step_finding(
                exc,
                info,
                check=SCHEMA_DRIFT,
                dialect=self.dialect,
                root=self.project.root,
                what=f"{self.env}: cannot tell whether the schema drifted: building the "
                f"expected schema, {info.label()} fails on an empty scratch database",
                hint="fix the migration: a chain that cannot be replayed from empty cannot "
                "be checked (the deploy is refused, it cannot tell)",
            )
        self.expected_from = "scratch database"
        return drift_finding(self.env, heads, expected, live, when=when, allow_drift=allow)

    def preflight(
        self,
        state: LiveState,
        plan: Plan,
        *,
        allow_drift: bool,
        built: SchemaSnapshot | None = None,
    ) -> bool:
        """Findings of the pre-flight; True when the deploy may go on."""
        t = time.perf_counter()
        chain, root = self.project.chain, self.project.root
        self.report.extend(
            ledger_findings(self.env, chain, self.files, state.heads, state.ledger, root=root)
        )
        if not state.has_ledger and state.heads:
            self.section = replace(
                self.section,
                notes=(
                    *self.section.notes,
                    f"{self.env} has no ledger yet: revisions applied "
                    "before migration-gate cannot be checked against their files; the "
                    "schema is checked, and the ledger starts with the next revision",
                ),
            )
        if not state.heads and state.objects and not self._fresh(state.schema):
            matches = {
                rev: "lock file"
                for rev in chain.order
                if self.expected.lock_hash([rev]) == f"sha256:{state.schema.sha256()}"
            }
            vt = version_table(self.project.source)
            self.report.add(
                unversioned_finding(
                    self.env, state.schema, version_table=vt, matches=matches, ini=self.project.ini
                )
            )
        elif state.heads and not plan.unknown:
            found = self.drift(
                state.heads, state.schema, allow=allow_drift, when=self.when, built=built
            )
            if found is not None:
                self.report.add(found)
        self.timed("preflight", t)
        return self.report.ok

    def _fresh(self, live: SchemaSnapshot) -> bool:
        """No revision yet, but objects: the app's own start (`setup`, e.g. its create_all)
        made exactly them? Then the database is as fresh as this project's get."""
        if self.project.setup is None:
            return False
        try:
            base = self.expected.build(())
        except StepFailed:
            return False
        self.expected_from = "scratch database"
        return base == live

    def start(self, state: LiveState, plan: Plan) -> None:
        self.section = replace(
            self.section, before=state.heads, after=state.heads, head=plan.heads, plan=plan.pending
        )
