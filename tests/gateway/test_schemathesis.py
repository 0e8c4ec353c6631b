"""Schemathesis against the OpenAPI document of the gateway running as a service (serve(SERVICE)
on a free port): EVERY check (status codes, headers, schemas, content types, negative data
rejected, positive data accepted, auth, ...), every operation, a fresh random seed each run
(printed, and written to .b9/schemathesis-gateway.txt with the whole report to replay it with
``--seed``). 0 failures means the document describes what the API does.

Only the live event feed (``/api/v1/events``) is left out: it is a server-sent stream that
never ends, so no request to it completes (tests/gateway/test_live_feed.py covers it).

The stateful phase follows links from Location headers only, and the fuzzing phase does not
reuse values from responses (both fed nullable response fields to path parameters: /replays/null).
Operations whose document lists ``x-b9-rules``
(rules a JSON Schema cannot state, answered 422 naming the field) accept 422 for schema-valid
data; exactly those, read from the document.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from b9_common.ops.metrics import free_port
from b9_common.service import serve
from b9_gateway.main import SERVICE
from gwenv import AUTH, Env

log = logging.getLogger(__name__)
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
REPORT = Path(__file__).parent.parent.parent / ".b9" / "schemathesis-gateway.txt"
# Bounded so the run stays a CI test (~1 min on 2 loaded cores); B9_SCHEMATHESIS_EXAMPLES raises it.
MAX_EXAMPLES = int(os.environ.get("B9_SCHEMATHESIS_EXAMPLES", "10"))


async def _wait_healthy(base: str) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(200):
            try:
                if (await c.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("gateway did not become healthy")


def config_for(spec: dict[str, Any]) -> str:
    """schemathesis.toml: 422 is an expected answer to valid data where the document says so."""
    blocks = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if op.get("x-b9-rules"):
                blocks.append(
                    f'[[operations]]\ninclude-method = "{method.upper()}"\ninclude-path = "{path}"\n'
                    '[operations.checks.positive_data_acceptance]\n'
                    'expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]\n'
                )
    # Stateful phase: links from Location headers only. The dependency analysis also links a
    # nullable response field to a path parameter (a user's model_id: null -> GET /models/None)
    # and counts the 422 as "valid data rejected": a false positive of the inference.
    # Likewise the fuzzing phase's values taken from earlier responses: a nullable field named
    # like a path parameter sent GET /replays/null and counted its 422 as valid data rejected.
    inference = '[phases.stateful.inference]\nalgorithms = ["location-headers"]\n'
    no_reuse = "[phases.fuzzing.extra-data-sources]\nresponses = false\n"
    # 413 (the body over the route's limit, documented) is a rejection like 400 or 422.
    rejected = ('[checks.negative_data_rejection]\nexpected-statuses = ["400", "401", "403", "404", "405", '
                '"406", "409", "413", "415", "422", "428", "429", "5xx"]\n')
    return "\n".join([inference, no_reuse, rejected, *blocks])


@pytest.mark.slow
async def test_schemathesis_all_checks_every_operation(fresh: Env, tmp_path: Path) -> None:
    seed = int(os.environ.get("B9_SCHEMATHESIS_SEED") or random.SystemRandom().randrange(2**31))
    print(f"schemathesis seed: {seed}")  # shown by pytest -s and with a failure
    log.warning("schemathesis seed: %d", seed)
    port = free_port()
    # no rate limits: every request is the fuzzer's (ignored-auth checks fail auth on purpose)
    settings = msgspec.structs.replace(fresh.settings, gateway_port=port, gateway_rate_limit=0.0,
                                       gateway_auth_fail_burst=10**9)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop, grace=3))
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(base)
        async with httpx.AsyncClient() as c:
            spec = (await c.get(f"{base}/openapi.json")).json()
        config = tmp_path / "schemathesis.toml"
        config.write_text(config_for(spec))
        proc = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS), "--config-file", str(config), "run", f"{base}/openapi.json",
            "-H", f"Authorization:{AUTH['Authorization']}",
            "--checks", "all",
            "--exclude-path", "/api/v1/events",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", str(seed),
            "--request-timeout", "10",
            # one worker: with two threads hypothesis's source introspection (ast.parse) races on
            # Python 3.11's AST recursion counter ("AST constructor recursion depth mismatch")
            "--workers", "1",
            "--generation-database", "none",
            "--no-color",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=str(tmp_path),
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
        text = f"seed {seed}\n" + out.decode(errors="replace")
        REPORT.parent.mkdir(exist_ok=True)
        REPORT.write_text(text)
        assert proc.returncode == 0, f"seed {seed}\n" + text[-8000:]
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
