"""No page of the gateway references an external host, and every HTML page carries a
Content-Security-Policy that allows nothing external.

The HTML pages are found from the app's routes (every GET route outside /api and /media
without path parameters is fetched; those answering text/html are pages), so a page added later is checked too.
From each page every referenced asset is fetched and followed (HTML src/href, CSS url() and
@import, JavaScript import/from), and any reference to a host other than the page's own fails.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
from b9_gateway.answers import flat_routes
from b9_gateway.docs import CSP
from gwenv import Env

HTML_REFS = re.compile(r"""(?:src|href|action|data-openapi)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
CSS_REFS = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']""", re.IGNORECASE)
JS_REFS = re.compile(r"""(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,]+from\s*)?["']([^"']+)["']""", re.MULTILINE)
EXTERNAL_IN_POLICY = re.compile(r"https?:|\*|'unsafe-inline'|'unsafe-eval'")


def html_pages(app: object) -> list[str]:
    paths = []
    for r in flat_routes(app):
        path = getattr(r, "path", "")
        methods = getattr(r, "methods", None) or set()
        if "GET" in methods and "{" not in path and not path.startswith(("/api/", "/media/")):
            paths.append(path)
    return paths


def _refs(ctype: str, text: str) -> list[str]:
    if "html" in ctype:
        return HTML_REFS.findall(text)
    if "css" in ctype:
        return [a or b for a, b in CSS_REFS.findall(text)]
    if "javascript" in ctype:
        return JS_REFS.findall(text)
    return []


async def crawl(client: httpx.AsyncClient, start: list[str]) -> tuple[dict[str, httpx.Response], list[str]]:
    """Fetch the pages and everything they reference on this origin; return the responses and
    every reference to another host."""
    origin = urlsplit(str(client.base_url)).netloc
    seen: dict[str, httpx.Response] = {}
    external: list[str] = []
    todo = list(start)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        r = await client.get(path)
        seen[path] = r
        ctype = r.headers.get("content-type", "")
        for ref in _refs(ctype, r.text if r.status_code == 200 else ""):
            if ref.startswith(("data:", "#", "mailto:")):
                continue
            target = urlsplit(urljoin(str(client.base_url) + path, ref))
            if target.netloc != origin:
                external.append(f"{path} -> {ref}")
            elif target.scheme in ("http", "https"):
                todo.append(target.path)
    return seen, external


async def test_no_page_or_asset_references_an_external_host(env: Env) -> None:
    pages = html_pages(env.client._transport.app)  # type: ignore[attr-defined]
    assert "/" in pages and "/docs" in pages, pages
    seen, external = await crawl(env.anon, pages)
    assert not external, external
    html = {p: r for p, r in seen.items() if "text/html" in r.headers.get("content-type", "")}
    assert {"/", "/docs"} <= set(html), sorted(seen)
    # the assets were found and served (the crawl followed the references)
    for asset in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/docs/assets/init.js"):
        assert seen[asset].status_code == 200, asset
    assert any(p.startswith("/dashboard/") and p.endswith(".js") for p in seen), sorted(seen)
    assert "/redoc" not in seen or seen["/redoc"].status_code == 404


async def test_every_html_page_sends_a_policy_allowing_nothing_external(env: Env) -> None:
    seen, _ = await crawl(env.anon, html_pages(env.client._transport.app))  # type: ignore[attr-defined]
    pages = {p: r for p, r in seen.items() if "text/html" in r.headers.get("content-type", "")}
    assert pages
    for path, r in pages.items():
        policy = r.headers.get("content-security-policy", "")
        directives = dict(([*d.strip().split(" ", 1), ""])[:2] for d in policy.split(";") if d.strip())
        assert directives.get("default-src") == "'self'", (path, policy)
        assert directives.get("script-src") == "'self'" and directives.get("object-src") == "'none'", (path, policy)
        assert directives.get("frame-ancestors") == "'none'", (path, policy)
        assert not EXTERNAL_IN_POLICY.search(policy), (path, policy)
        assert r.headers.get("x-content-type-options") == "nosniff", path
    # API answers carry it as well (an error page rendered as HTML by a browser is still covered)
    r = await env.anon.get("/api/v1/subreddits")
    assert r.status_code == 401 and r.headers.get("content-security-policy") == CSP
