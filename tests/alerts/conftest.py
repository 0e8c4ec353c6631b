"""Alerts fixtures: a stack of the test's own (namespace, database, receiver)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alenv import Stack, stack


@pytest.fixture
async def st(nats_url: str, namespace: str, database_url: str) -> AsyncIterator[Stack]:
    async with stack(nats_url, namespace, database_url) as s:
        yield s
