"""Snapshots of real databases, and their replay through the chain's new migrations.

`snapshot` captures a database into PostgreSQL's own custom-format archive (`pg_dump -Fc`),
optionally sampled and masked in the database, or a SQLite file through the backup API,
with a small metadata file beside it (`meta`). `replay` restores each snapshot into a
scratch database, upgrades it to head one revision at a time through the user's env.py and
reports what failed, what drifted, which rows were lost and what was rewritten under which
lock for how long (`findings`). Both stream; no table ever passes through Python memory.
"""
