"""A local OpenAI-compatible chat-completions server (aiohttp on 127.0.0.1).

It answers ``POST /v1/chat/completions`` carrying a ``response_format`` json_schema:
for ``subreddit_tags`` it reads the ``name:`` lines of the user message and answers each
name with ``oracle[name]`` (default: the first tag of the schema's enum), results shuffled;
for ``creator_tags`` it answers ``creator_oracle`` with per-category confidences.
``plan`` injects faults per request number: "429" (with retry-after), "500", "malformed"
(truncated JSON), "partial" (drops the first item), "badtag" (a tag outside the enum).
Usage figures are derived from the text lengths and summed in ``usage_total``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

_NAME = re.compile(r"^name: (.+)$", re.M)


@dataclass
class FakeOpenAI:
    oracle: dict[str, list[str]] = field(default_factory=dict)
    creator_oracle: dict[str, Any] = field(default_factory=dict)
    plan: Callable[[int, dict[str, Any]], str | None] = lambda n, body: None
    retry_after: str = "0.05"
    requests: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    usage_total: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})
    usage_by_request: dict[int, tuple[int, int]] = field(default_factory=dict)
    url: str = ""
    _runner: web.AppRunner | None = None
    _rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def names_in(self, body: dict[str, Any]) -> list[str]:
        user = body["messages"][-1]["content"]
        return _NAME.findall(user) if isinstance(user, str) else []

    def _reply(self, status: int, **kw: Any) -> web.Response:
        self.statuses.append(status)
        return web.json_response(status=status, **kw)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        n = len(self.requests)
        self.requests.append(body)
        fault = self.plan(n, body)
        if fault == "429":
            return self._reply(
                429,
                data={"error": {"message": "rate limited", "type": "rate_limit"}},
                headers={"retry-after": self.retry_after},
            )
        if fault == "500":
            return self._reply(500, data={"error": {"message": "boom", "type": "server_error"}})
        schema = body["response_format"]["json_schema"]
        if schema["name"] == "subreddit_tags":
            enum = schema["schema"]["properties"]["results"]["items"]["properties"]["tags"][
                "items"
            ]["enum"]
            results = [
                {"name": nm, "tags": self.oracle.get(nm, [enum[0]]), "confidence": 0.9}
                for nm in self.names_in(body)
            ]
            if fault == "partial" and results:
                results = results[1:]
            if fault == "badtag" and results:
                results[0]["tags"] = ["not:a_tag"]
            self._rng.shuffle(results)
            content = json.dumps({"results": results})
        else:
            content = json.dumps(self.creator_oracle)
        if fault == "malformed":
            content = content[: len(content) // 2]
        prompt = sum(len(json.dumps(m["content"])) for m in body["messages"]) // 4
        completion = max(1, len(content) // 4)
        self.usage_total["prompt"] += prompt
        self.usage_total["completion"] += completion
        self.usage_by_request[n] = (prompt, completion)
        return self._reply(
            200,
            data={
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop" if fault != "malformed" else "length",
                        "message": {"role": "assistant", "content": content, "refusal": None},
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            },
        )
