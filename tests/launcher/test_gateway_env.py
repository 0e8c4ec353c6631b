"""`b9 up` hands the gateway (the process facing the network) no other service's secrets and a
read-only database role: no OpenAI key, no scraper credentials, no way to write the read model."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from b9_common.cli.settings import CliSettings, StackFile
from b9_common.cli.up import Stack
from b9_common.cli.up_env import ensure_reader, reader_url


def test_the_gateway_gets_no_other_services_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {"OPENAI_API_KEY": "sk-categorizer-only", "OPENAI_BASE_URL": "https://llm.test/v1",
                       "REDDIT_CLIENT_SECRET": "reddit-only", "INSTAGRAM_API_KEY": "instagram-only",
                       "ALERT_WEBHOOK_SECRET": "alerts-only"}.items():
        monkeypatch.setenv(var, value)
    stack = Stack(CliSettings(b9_data_dir=str(tmp_path)))
    stack.gateway_database_url = "postgresql://b9_reader:@/postgres?host=/tmp/pg"
    files = StackFile(nats_url="nats://127.0.0.1:4222", database_url="postgresql://postgres:@/postgres?host=/tmp/pg",
                      media_store_url=f"file://{tmp_path}", gateway_port=8000, seed_media_port=9999)
    names = ["categorizer", "reddit-scraper", "gateway"]
    stack.plan(files, {n: f"b9-{n}" for n in names}, key="gateway-key-0123456789")
    env = {c.name: c.env for c in stack.services.children}
    gateway = env["gateway"]
    leaked = [k for k in gateway if k.startswith(("OPENAI_", "REDDIT_CLIENT", "INSTAGRAM_API", "ALERT_WEBHOOK"))]
    assert not leaked, leaked
    assert gateway["DATABASE_URL"].startswith("postgresql://b9_reader:") and gateway["GATEWAY_API_KEY"]
    # the owners still get theirs
    assert env["categorizer"]["OPENAI_API_KEY"] == "sk-categorizer-only" and "GATEWAY_API_KEY" not in env["categorizer"]
    assert env["reddit-scraper"]["REDDIT_CLIENT_SECRET"] == "reddit-only"
    assert "OPENAI_API_KEY" not in env["reddit-scraper"]


async def test_the_reader_role_reads_and_cannot_write(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await ensure_reader(conn)
        await ensure_reader(conn)  # idempotent (every b9 up runs it after the migrations)
    finally:
        await conn.close()
    reader = await asyncpg.connect(reader_url(database_url))
    try:
        assert await reader.fetchval("SELECT current_user") == "b9_reader"
        assert await reader.fetchval("SELECT count(*) FROM subreddits") == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await reader.execute("INSERT INTO replays (id, consumer, slice, started_at, outcome) "
                                 "VALUES ('x', 'c', '{}', now(), '{}')")
    finally:
        await reader.close()
