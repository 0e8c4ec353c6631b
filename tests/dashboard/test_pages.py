"""Every main page renders real data; screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import shot

pytestmark = pytest.mark.browser


async def test_overview(page: Any) -> None:
    await page.locator("#scrapers [data-scraper=reddit] .replicas li").first.wait_for()
    await shot(page, "01-overview")
