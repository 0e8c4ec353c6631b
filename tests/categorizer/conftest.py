"""Fixtures of the categorizer tests: a local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cat_fake_openai import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    yield server
    await server.stop()
