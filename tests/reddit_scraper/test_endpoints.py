"""Start-up says which token URL is used (REDDIT_API_BASE overridden -> the token follows it)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from b9_common.service import Runtime
from b9_reddit_scraper.settings import Settings
from reddit_fake_upstream import FakeReddit
from reddit_helpers import running, wait_for


def _endpoint_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "b9_reddit_scraper.main" and r.getMessage().startswith("reddit endpoints")]


async def test_startup_logs_the_token_url_that_follows_the_api_base(
    rt: Runtime, upstream: FakeReddit, make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="b9_reddit_scraper")
    settings = make_settings(reddit_client_id="cid", reddit_client_secret="secret")
    async with running(settings, rt=rt):
        await wait_for(lambda: _endpoint_lines(caplog), within=5)
    lines = _endpoint_lines(caplog)
    assert len(lines) == 1 and lines[0].levelno == logging.INFO
    token = f"{upstream.url}/api/v1/access_token"
    assert lines[0].token_url == token  # type: ignore[attr-defined]
    assert lines[0].api_base == upstream.url  # type: ignore[attr-defined]
    assert token in lines[0].getMessage() and "secret" not in lines[0].getMessage()


async def test_startup_names_an_explicit_token_url_and_public_mode(
    rt: Runtime, make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="b9_reddit_scraper")
    explicit = make_settings(reddit_client_id="cid", reddit_client_secret="secret",
                             reddit_token_url="http://127.0.0.1:9/tok")
    async with running(explicit, rt=rt):
        await wait_for(lambda: _endpoint_lines(caplog), within=5)
    assert _endpoint_lines(caplog)[0].token_url == "http://127.0.0.1:9/tok"  # type: ignore[attr-defined]
    caplog.clear()
    async with running(make_settings(), rt=rt):
        await wait_for(lambda: _endpoint_lines(caplog), within=5)
    line = _endpoint_lines(caplog)[0]
    assert line.token_url is None and "public mode" in line.getMessage()  # type: ignore[attr-defined]
