"""Deploy migrations so that they can never fail silently: locked, pre-flighted, ledgered.

The stages, one module each, in the order a deploy runs them: `lock` (serialize deployers),
`live` (read the database), `files` and `plan` (what is pending), `preflight` with
`expected` (ledger and schema against the files), `dryrun` (the SQL, on a scratch
database), `backup`, `apply` with `hooks` (one transaction and one `ledger` row per
revision), and `run`, which strings them together for `deploy` and `drift`.
"""
