"""The dashboard: a static single-page app (plain ES modules + CSS) served by the gateway.

``/`` is the page shell; ``/dashboard/<file>`` are its assets. Nothing here talks to the
database: the app in the browser uses /api/v1 (session cookie from POST /api/v1/login) and
the SSE feed at /api/v1/events. Hidden from the OpenAPI schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = (Path(__file__).parent / "static").resolve()
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
# Only our own origin: no CDN, no inline script; media comes from /media on the same origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


def _file(path: Path, cache: str) -> FileResponse:
    return FileResponse(
        path,
        media_type=TYPES.get(path.suffix, "application/octet-stream"),
        headers={**HEADERS, "Cache-Control": cache},
    )


# Plain functions: FastAPI runs them in its thread pool (the file checks touch the disk).
@router.get("/")
def index() -> FileResponse:
    return _file(STATIC / "index.html", "no-cache")


@router.get("/dashboard/{name:path}")
def asset(name: str) -> FileResponse:
    target = (STATIC / name).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file() or target.suffix not in TYPES:
        raise HTTPException(status_code=404, detail="not found")
    # Revalidated on every load (ETag / Last-Modified): a deploy never serves stale modules.
    return _file(target, "no-cache")
