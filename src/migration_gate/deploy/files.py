"""What the revision files say now: each one's checksum, and whether it leaves its transaction.

The checksum is the lock file's (`chain.checksum.source_checksum`, ast-v1), so the ledger,
the lock file and the files compare directly. A file that cannot be parsed has no checksum
(its chain does not load either: `chain-load-failed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migration_gate.chain.checksum import decode_source, source_checksum
from migration_gate.chain.script import Chain

__all__ = ["FileFacts", "read_files"]

_AUTOCOMMIT = re.compile(r"\bautocommit_block\s*\(")


@dataclass(frozen=True)
class FileFacts:
    """revision -> checksum, and the revisions that use ``autocommit_block``."""

    checksums: dict[str, str]
    autocommit: frozenset[str]


def read_files(chain: Chain) -> FileFacts:
    """Read every revision file of `chain` once."""
    checksums: dict[str, str] = {}
    autocommit: set[str] = set()
    for rev, info in chain.infos.items():
        try:
            data = info.path.read_bytes()
            checksums[rev] = source_checksum(data)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
            continue
        if _AUTOCOMMIT.search(decode_source(data)):
            autocommit.add(rev)
    return FileFacts(checksums, frozenset(autocommit))
