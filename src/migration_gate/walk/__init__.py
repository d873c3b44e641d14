"""The roundtrip walk: every revision up, down and up again, with the registered checks.

`run.walk` walks one dialect on one database and `run.roundtrip` is the Python API over a
URL; which revisions a walk checks (`--from`, `--to`, `--shard`) is `select`'s job.
"""
