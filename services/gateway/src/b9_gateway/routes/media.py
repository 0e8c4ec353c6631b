"""Stored media: /media/{key} streams from a file:// store or redirects to the S3 URL."""

from __future__ import annotations

from typing import Annotated

from b9_common.storage import content_type_for
from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse, RedirectResponse, Response

from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import not_found

router = APIRouter(tags=["media"])


@router.get(
    "/media/{key:path}",
    summary="A stored media object (file stream or redirect)",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
        302: {"description": "Redirect to the object store"},
        404: {"description": "Not stored"},
    },
)
async def get_media(
    key: Annotated[str, Path(min_length=1, max_length=1024)], deps: Deps = Depends(get_deps)
) -> Response:
    found = await deps.media.locate(key)
    if found is None:
        raise not_found(f"media {key}")
    how, where = found
    if how == "redirect":
        return RedirectResponse(where, status_code=302)
    return FileResponse(
        where,
        media_type=content_type_for(key),
        headers={"Cache-Control": "private, max-age=86400, immutable"},
    )
