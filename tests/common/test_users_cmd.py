"""`b9 users ...` against a real NATS server, and the admin account `b9 up` creates."""

from __future__ import annotations

import asyncio
import stat
import uuid
from pathlib import Path

import nats
import pytest
from b9_common.accounts.store import AccountStore, session_valid
from b9_common.cli import commands  # noqa: F401 - registers the verbs
from b9_common.cli.main import app
from b9_common.cli.users_cmd import ensure_bootstrap_admin
from b9_common.jetstream.topology import Topology
from b9_common.service import Runtime
from typer.testing import CliRunner


def _b9(nats_url: str, ns: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"NATS_URL": nats_url, "B9_NAMESPACE": ns, "COLUMNS": "200"})
    return result.exit_code, result.output


async def _store(nats_url: str, ns: str) -> tuple[AccountStore, object]:
    nc = await nats.connect(nats_url)
    js, topo = nc.jetstream(), Topology(namespace=ns)
    return AccountStore(await topo.accounts_kv(js), await topo.sessions_kv(js)), nc


def test_users_add_list_disable_key(nats_url: str) -> None:
    ns = f"u{uuid.uuid4().hex[:8]}"
    code, out = _b9(nats_url, ns, "users", "add", "alice", "--role", "reviewer")
    assert code == 0, out
    key = out.strip().splitlines()[-1]
    assert key.startswith("b9_") and len(key) > 40
    code, out = _b9(nats_url, ns, "users", "add", "alice", "--role", "viewer")
    assert code == 1 and "exists" in out
    code, out = _b9(nats_url, ns, "users", "add", "bob", "--role", "god")
    assert code != 0 and "viewer, reviewer, admin" in out
    code, out = _b9(nats_url, ns, "users", "list")
    assert code == 0 and "alice" in out and "reviewer" in out and "active" in out and key not in out

    async def check(k: str) -> object:
        store, nc = await _store(nats_url, ns)
        try:
            return await store.check_key(k)
        finally:
            await nc.close()  # type: ignore[attr-defined]

    assert asyncio.run(check(key)) is not None
    code, out = _b9(nats_url, ns, "users", "key", "alice")
    new_key = out.strip().splitlines()[-1]
    assert code == 0 and new_key.startswith("b9_") and new_key != key
    assert asyncio.run(check(key)) is None and asyncio.run(check(new_key)) is not None
    assert _b9(nats_url, ns, "users", "disable", "alice")[0] == 0
    assert asyncio.run(check(new_key)) is None
    assert "disabled" in _b9(nats_url, ns, "users", "list")[1]
    assert _b9(nats_url, ns, "users", "enable", "alice")[0] == 0
    assert asyncio.run(check(new_key)) is not None
    code, out = _b9(nats_url, ns, "users", "disable", "nobody")
    assert code == 1 and "no account" in out


def test_a_new_admin_key_is_written_to_the_admin_key_file(nats_url: str, tmp_path: Path) -> None:
    ns = f"u{uuid.uuid4().hex[:8]}"
    assert _b9(nats_url, ns, "users", "add", "admin", "--role", "admin")[0] == 0
    result = CliRunner().invoke(app, ["users", "key", "admin"], env={
        "NATS_URL": nats_url, "B9_NAMESPACE": ns, "B9_DATA_DIR": str(tmp_path / ".b9"), "COLUMNS": "200"})
    key = result.output.strip().splitlines()[-1]
    path = tmp_path / ".b9" / "admin-api-key"
    assert result.exit_code == 0 and path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_enabling_again_does_not_revive_ended_sessions(rt: Runtime) -> None:
    store = AccountStore(await rt.topology.accounts_kv(rt.js), await rt.topology.sessions_kv(rt.js))
    acct, _ = await store.add("zoe", "viewer")
    token, _ = await store.open_session(acct, 60)
    await store.set_disabled("zoe")
    enabled = await store.set_disabled("zoe", False)
    assert not session_valid(await store.session(token), enabled)
    token2, _ = await store.open_session(enabled, 60)
    assert session_valid(await store.session(token2), enabled)


async def test_up_creates_the_admin_once_and_prints_where_its_key_is(
    rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = await ensure_bootstrap_admin(rt.js, rt.topology, tmp_path / ".b9")
    assert path == tmp_path / ".b9" / "admin-api-key"
    key = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out = capsys.readouterr().out
    assert str(path) in out.replace("\n", "") and key not in out
    store = AccountStore(await rt.topology.accounts_kv(rt.js), await rt.topology.sessions_kv(rt.js))
    admin = await store.check_key(key)
    assert admin is not None and admin.name == "admin" and admin.role == "admin"
    assert await ensure_bootstrap_admin(rt.js, rt.topology, tmp_path / ".b9") == path
    assert path.read_text().strip() == key  # not replaced on the next start
    assert key not in capsys.readouterr().out
