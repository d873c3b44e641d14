"""Databases: URLs (masked for output), scratch databases, the embedded PostgreSQL server.

`urls` parses and masks URLs, `failure` turns a driver error into one line and a code,
`pg_server` runs a throwaway PostgreSQL, `provision` hands out scratch databases on it (or
on a server the user named, or as SQLite files), and `workspace` is the one database a
walk works in, replaced by a fresh one when the walk must rebuild.
"""
