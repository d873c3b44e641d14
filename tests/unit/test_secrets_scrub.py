"""`scrub_known`: the reports' last line of defence replaces only the passwords this process
was given, so JSON, XML and SQL in a report stay intact."""

from __future__ import annotations

import json

from migration_gate.db import urls


def test_known_passwords_go_and_nothing_else_changes() -> None:
    urls.remember_secrets("postgresql://u:Kq8-pw-scrub@h/db")
    text = json.dumps({"sql": "UPDATE users SET password = 'x'", "url": "u:Kq8-pw-scrub@h"})
    scrubbed = urls.scrub_known(text)
    assert "Kq8-pw-scrub" not in scrubbed
    assert json.loads(scrubbed) == {"sql": "UPDATE users SET password = 'x'", "url": "u:***@h"}
