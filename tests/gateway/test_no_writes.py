"""The gateway publishes decisions; it never writes the read model (DESIGN: only persistence does)."""

from __future__ import annotations

import re
from pathlib import Path

import b9_gateway

WRITES = re.compile(
    r"\b(INSERT\s+INTO|UPDATE\s+[\w.\"]+\s+(?:\w+\s+)?SET|DELETE\s+FROM\s+(?!the\b)|TRUNCATE|COPY\s+[\w.\"]+\s+FROM|"
    r"MERGE\s+INTO|(?:CREATE|ALTER|DROP)\s+(?:TABLE|INDEX))\b",
    re.IGNORECASE,
)


def test_the_pattern_finds_writes() -> None:
    for sql in ("INSERT INTO models (name) VALUES ($1)", "update subreddits s set review = $2",
                "DELETE FROM models WHERE id = 1", "f\"UPDATE reddit_users SET {assigns}\""):
        assert WRITES.search(sql), sql
    assert not WRITES.search("KV_DELETES = ('DEL', 'PURGE')")
    assert not WRITES.search("Republish to the original subject, then delete from the DLQ")


def test_gateway_source_has_no_sql_writes() -> None:
    root = Path(b9_gateway.__file__).parent
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".py", ".sql", ".js", ".html"}:
            continue
        for no, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if WRITES.search(line):
                found.append(f"{path.relative_to(root)}:{no}: {line.strip()}")
    assert found == [], "the gateway writes the read model:\n" + "\n".join(found)
