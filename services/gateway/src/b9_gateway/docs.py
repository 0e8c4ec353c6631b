"""``/docs`` without a CDN, and a Content-Security-Policy on every response.

FastAPI's own ``/docs`` and ``/redoc`` load their JavaScript from a public CDN (floating
version, no integrity) on the dashboard's origin; both are turned off (``docs_url=None,
redoc_url=None``). ``/docs`` here is Swagger UI from the static files of the pinned
``fastapi-offline`` wheel (Swagger UI 5.x, which renders OpenAPI 3.1), served under
``/docs/assets/``; its start-up code is a file of ours (no inline script), with the
validator badge off (it would call validator.swagger.io).

``SecurityHeaders`` adds the policy (nothing external: scripts, styles, images, fonts,
connections from this origin only; no plugins, no framing) to every response that does not
carry its own, so any HTML page added later gets it too.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
ASSETS = Path(fastapi_offline.__file__).parent / "static"
TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}
INIT_JS = """\
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.openapi,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    showExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
});
"""
PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body data-openapi="{openapi}">
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"""
router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_page() -> HTMLResponse:
    return HTMLResponse(PAGE.format(title="b9 gateway", openapi="/openapi.json"), headers={"Cache-Control": "no-cache"})


@router.get("/docs/assets/{name}")
def swagger_asset(name: str) -> Response:
    if name == "init.js":
        return Response(INIT_JS, media_type="text/javascript; charset=utf-8")
    if name not in TYPES:
        raise HTTPException(status_code=404, detail="not found")
    # The files change only with the pinned wheel: cache for a day, revalidate after.
    return FileResponse(ASSETS / name, media_type=TYPES[name], headers={"Cache-Control": "max-age=86400"})


class SecurityHeaders:
    """Adds CSP, nosniff and no-referrer to every HTTP response that has no CSP of its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    present = {k.lower() for k, _ in headers}
                    headers.extend(h for h in HEADERS if h[0] not in present)
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(SecurityHeaders)
