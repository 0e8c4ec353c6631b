"""The AsyncAPI document (``b9 asyncapi``) validated by the official parser, ``@asyncapi/parser``
from npm (pinned), run under node: 0 diagnostics of any severity (errors, warnings and the
"not the latest version" hint alike), version 3.1.0.

The parser is installed by this test into ``test-artifacts/asyncapi-parser`` (gitignored, reused
by later runs). Where node/npm are absent the test is skipped with the reason printed."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from b9_common.jetstream.asyncapi import generate_json

PARSER = "@asyncapi/parser@3.6.6"
ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "test-artifacts" / "asyncapi-parser"
B9 = Path(sys.executable).parent / "b9"
SCRIPT = """\
import { Parser } from '@asyncapi/parser';
import { readFileSync } from 'node:fs';
const { document, diagnostics } = await new Parser().parse(readFileSync(process.argv[2], 'utf8'));
const sev = ['error', 'warning', 'info', 'hint'];
console.log(JSON.stringify({ version: document ? document.version() : null,
  diagnostics: diagnostics.map(d => ({ severity: sev[d.severity] ?? d.severity, code: d.code,
                                       message: d.message, path: d.path.join('.') })) }));
"""


async def _run(*cmd: str, cwd: Path, timeout: float) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *cmd, cwd=str(cwd), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(errors="replace")


@pytest.fixture(scope="module")
async def validator() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        reason = f"node or npm not on PATH (node={node}, npm={npm}): cannot run {PARSER}"
        print(f"SKIP: {reason}")  # the issue asks for the reason to be printed
        pytest.skip(reason)
    HOME.mkdir(parents=True, exist_ok=True)
    stamp = HOME / "installed.txt"
    if not stamp.exists() or stamp.read_text() != PARSER:
        (HOME / "package.json").write_text('{"private": true}\n')
        code, out = await _run(npm, "install", "--no-audit", "--no-fund", "--loglevel=error", PARSER,
                               cwd=HOME, timeout=300)
        assert code == 0, f"npm install {PARSER} failed:\n{out[-3000:]}"
        stamp.write_text(PARSER)
    script = HOME / "validate.mjs"
    script.write_text(SCRIPT)
    return script


async def _validate(script: Path, doc: Path) -> dict[str, Any]:
    code, out = await _run("node", str(script), str(doc), cwd=HOME, timeout=120)
    assert code == 0, out[-3000:]
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def test_b9_asyncapi_output_passes_the_official_parser(validator: Path, tmp_path: Path) -> None:
    code, out = await _run(str(B9), "asyncapi", cwd=tmp_path, timeout=60)
    assert code == 0, out
    doc = tmp_path / "asyncapi.json"
    doc.write_text(out)
    result = await _validate(validator, doc)
    assert result["version"] == "3.1.0", result
    assert result["diagnostics"] == [], json.dumps(result["diagnostics"], indent=1)[:4000]
    assert json.loads(out)["channels"], "the document has channels"


async def test_document_with_a_server_and_a_namespace_passes_too(validator: Path, tmp_path: Path) -> None:
    """The gateway's variant (namespaced subjects) and one with a NATS server block."""
    from b9_common.jetstream.topology import Topology

    doc = tmp_path / "asyncapi.json"
    doc.write_bytes(generate_json(Topology(namespace="ns1"), version="9.9.9", nats_url="nats://127.0.0.1:4222"))
    result = await _validate(validator, doc)
    assert result["diagnostics"] == [], json.dumps(result["diagnostics"], indent=1)[:4000]


async def test_the_parser_reports_a_broken_document(validator: Path, tmp_path: Path) -> None:
    """The validation can fail: a channel pointing at a message that does not exist is an error."""
    broken = json.loads(generate_json())
    first = next(iter(broken["channels"].values()))
    first["messages"] = {"Nope": {"$ref": "#/components/messages/DoesNotExist"}}
    doc = tmp_path / "broken.json"
    doc.write_text(json.dumps(broken))
    result = await _validate(validator, doc)
    assert any(d["severity"] == "error" for d in result["diagnostics"]), result
