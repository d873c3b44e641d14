"""The chain and its step runner: what the revision files say, and running them one by one.

`script` loads Alembic's script directory, `revisions` reads each revision file statically
(ids, parents, lines, the `gate` declaration), `graph` checks the revision graph and orders
it, `runner` applies one revision at a time through the user's env.py, `upwalk` applies a
whole chain recording each step, `sql_capture` records the SQL a step sends, `checksum`
hashes what a revision does, and `gitrefs` reads the files as they were at a git ref.
"""
