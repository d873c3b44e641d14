"""The lock file of released migrations: its format (`lockfile`, pure) and writing and
checking it against the files, git and the databases (`locking`)."""
