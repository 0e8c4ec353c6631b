"""Schemathesis against the OpenAPI schema of the gateway running as a service (serve(SERVICE)
on a free port): no 5xx, responses match their documented schemas and content types."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest
from b9_common.metrics import free_port
from b9_common.service import serve
from b9_gateway.main import SERVICE
from gwenv import AUTH, Env

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


@pytest.mark.slow
async def test_schemathesis_fuzz_no_5xx_no_schema_violations(fresh: Env, tmp_path: Path) -> None:
    port = free_port()
    import msgspec

    settings = msgspec.structs.replace(fresh.settings, gateway_port=port, gateway_rate_limit=0.0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(SERVICE, settings, stop=stop, grace=3))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(100):
                try:
                    if (await c.get(f"{base}/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        proc = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "run",
            f"{base}/openapi.json",
            "-H",
            f"Authorization:{AUTH['Authorization']}",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--exclude-path",
            "/api/v1/events",
            "--max-examples",
            "12",
            "--seed",
            "7",
            "--request-timeout",
            "10",
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--no-color",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(tmp_path),
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 150)
        text = out.decode(errors="replace")
        (Path(__file__).parent.parent.parent / ".b9").mkdir(exist_ok=True)
        (Path(__file__).parent.parent.parent / ".b9" / "schemathesis-gateway.txt").write_text(text)
        assert proc.returncode == 0, text[-6000:]
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
