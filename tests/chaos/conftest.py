"""Chaos suite options: ``--chaos-size`` (facts published; default 20,000, or ``B9_CHAOS_SIZE``).

``make chaos`` runs ``pytest tests/chaos -m slow --chaos-size=100000``; the normal suite
runs the same test with the bounded default size.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_SIZE = 20_000


def chaos_size_of(config: pytest.Config) -> int:
    size = config.getoption("--chaos-size", default=None)
    if size is None:
        size = int(os.environ.get("B9_CHAOS_SIZE") or DEFAULT_SIZE)
    return int(size)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Bigger runs get a proportionally longer timeout than the suite's 300 s."""
    size = chaos_size_of(config)
    if size <= DEFAULT_SIZE:
        return
    for item in items:
        if "chaos" in item.nodeid and item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.timeout(300 + size // 50))


@pytest.fixture
def chaos_size(request: pytest.FixtureRequest) -> int:
    return chaos_size_of(request.config)


@pytest.fixture
def chaos_root() -> Iterator[Path]:
    """A directory outside pytest's basetemp: other pytest sessions chmod /tmp/pytest-of-<user>
    to 0700, which would stop the embedded PostgreSQL (running as its own user) from restarting."""
    path = Path(tempfile.mkdtemp(prefix="b9-chaos-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
