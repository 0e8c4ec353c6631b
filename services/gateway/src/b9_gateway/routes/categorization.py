"""Categorization: start (publishes categorize.requested with the items), stats, the taxonomy."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from b9_common.events import CategorizeItem, CategorizeRequested
from b9_readmodel import categorization as rm
from fastapi import APIRouter, Depends
from pydantic import Field

from b9_gateway import taxonomy
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, conflict
from b9_gateway.openapi import doc
from b9_gateway.requests import categorize_target
from b9_gateway.schemas import Body, IgKey, SubredditName, clean_sub

router = APIRouter(prefix="/categorization", tags=["categorization"])
CHUNK = 50
CAPTIONS = 12  # latest posts + reels whose captions go with a creator (as the categorizer's own)
THUMBNAILS = 6


class Started(msgspec.Struct):
    job_id: str
    items: int
    commands: int
    event_ids: list[str]
    request_id: str | None = None  # = job_id; GET status_url follows it (b9_gateway.requests)
    status_url: str | None = None
    status: str | None = None
    deduplicated: bool = False


class Stats(msgspec.Struct):
    total_approved_subreddits: int
    total_tagged: int
    untagged_remaining: int
    tagging_progress_percent: float
    manual_tagged: int
    top_tags: list[dict[str, Any]]
    by_primary_category: dict[str, int]
    categorizations_total: int
    cost_usd_total: float
    last_categorized_at: str | None


class Taxonomy(msgspec.Struct):
    version: str
    categories: dict[str, list[str]]
    tags: list[str]
    total: int
    primary_order: list[str]


class StartBody(Body):
    kind: Literal["subreddit", "creator"] = "subreddit"
    limit: int = Field(default=50, ge=1, le=1000)
    names: Annotated[list[SubredditName] | None, Field(max_length=1000)] = None
    creator_ids: Annotated[list[IgKey] | None, Field(max_length=1000)] = None
    force: bool = False


async def _subreddit_items(deps: Deps, body: StartBody) -> list[CategorizeItem]:
    if body.names:
        found = await rm.subreddits_named(deps.pool, [clean_sub(n).lower() for n in body.names], body.limit)
    else:
        found = await rm.subreddits_to_tag(deps.pool, body.force, body.limit)
    out = []
    for r in found:
        rules = r["rules"] if isinstance(r["rules"], list) else []
        text = "\n".join(f"{x.get('short_name', '')}: {x.get('description', '')}" for x in rules if isinstance(x, dict))
        out.append(
            CategorizeItem(
                kind="subreddit",
                key=r["name"],
                name=r["name"],
                title=r["title"],
                description=r["public_description"] or r["description"],
                rules_text=text[:2000],
                over18=r["over18"],
            )
        )
    return out


async def _creator_items(deps: Deps, body: StartBody) -> list[CategorizeItem]:
    if body.creator_ids:
        found = await rm.creators_by_id(deps.pool, body.creator_ids, body.limit)
    else:
        found = await rm.creators_to_tag(deps.pool, body.force, body.limit)
    media = await _recent_media([r["ig_user_id"] for r in found], deps)
    out = []
    for r in found:
        captions, thumbs = media.get(r["ig_user_id"], ([], []))
        urls = [u for u in [r["profile_pic_url"], *thumbs] if u]
        out.append(
            CategorizeItem(
                kind="creator",
                key=r["ig_user_id"],
                name=r["username"] or "",
                title=r["full_name"],
                description=r["biography"],
                image_urls=urls,
                captions=captions,
            )
        )
    return out


async def _recent_media(ids: list[str], deps: Deps) -> dict[str, tuple[list[str], list[str]]]:
    """Per creator, in one query: the captions (with ``#hashtags``) of the latest
    ``CAPTIONS`` posts and reels, as the categorizer builds them from a scrape, and the
    latest ``THUMBNAILS`` thumbnail URLs."""
    found = await rm.recent_media(deps.pool, ids, CAPTIONS, THUMBNAILS)
    out: dict[str, tuple[list[str], list[str]]] = {}
    for m in found:
        captions, thumbs = out.setdefault(m["ig_user_id"], ([], []))
        if m["n"] <= CAPTIONS:
            text = (m["caption"] + " " + " ".join(f"#{h}" for h in m["hashtags"])).strip()
            if text:
                captions.append(text)
        if m["thumbnail_url"] is not None and m["nt"] <= THUMBNAILS:
            thumbs.append(m["thumbnail_url"])
    return out


@router.post(
    "/start",
    status_code=202,
    responses=doc(Started, status=202),
    summary="Categorize untagged Ok subreddits (or the given ones) now",
)
async def start(body: StartBody, deps: Deps = Depends(get_deps)) -> JSON:
    items = await (_subreddit_items(deps, body) if body.kind == "subreddit" else _creator_items(deps, body))
    if not items:
        raise conflict("nothing to categorize: no matching items without tags (use force)")
    chunks = (len(items) + CHUNK - 1) // CHUNK
    # a request people can follow (b9_gateway.requests): its id is the job id; the same items
    # while that one is queued or running answer it again and publish nothing
    target = categorize_target(body.kind, [i.key for i in items], body.force)
    opened = await deps.requests.open("categorize", target, parts=chunks, items=len(items),
                                      subject=deps.topology.subject("categorize.requested"))
    job_id = opened.id
    ids = [f"{job_id}:{n}" for n in range(chunks)]
    if opened.created:
        for i in range(0, len(items), CHUNK):
            cmd = CategorizeRequested(items=items[i : i + CHUNK], force=body.force, job_id=job_id, request_id=job_id)
            await deps.publisher.publish(cmd, id_=f"{job_id}:{i // CHUNK}")
    return JSON(
        {"job_id": job_id, "items": int(opened.record.get("items") or len(items)), "commands": len(ids),
         "event_ids": ids, **opened.fields()},
        status_code=202,
    )


@router.get("/stats", responses=doc(Stats), summary="Tagging progress, top tags and cost")
async def stats(deps: Deps = Depends(get_deps)) -> JSON:
    async with deps.pool.acquire() as conn:
        got = await rm.tagging_stats(conn)
    row, top, cats, hist = got.ok, got.top_tags, got.by_category, got.history
    ok, tagged = int(row["ok"]), int(row["tagged"])
    return JSON(
        {
            "total_approved_subreddits": ok,
            "total_tagged": tagged,
            "untagged_remaining": ok - tagged,
            "tagging_progress_percent": round(100.0 * tagged / ok, 2) if ok else 0.0,
            "manual_tagged": int(row["manual"]),
            "top_tags": [dict(r) for r in top],
            "by_primary_category": {r["c"]: int(r["n"]) for r in cats},
            "categorizations_total": int(hist["n"]),
            "cost_usd_total": round(hist["cost"], 6),
            "last_categorized_at": hist["last"].isoformat() if hist["last"] else None,
        }
    )


@router.get("/tags", responses=doc(Taxonomy), summary="The Reddit tag taxonomy")
async def tags() -> JSON:
    return JSON(
        {
            "version": taxonomy.TAXONOMY_VERSION,
            "categories": {c: list(v) for c, v in taxonomy.CATEGORIES.items()},
            "tags": sorted(taxonomy.ALL_TAGS),
            "total": len(taxonomy.ALL_TAGS),
            "primary_order": list(taxonomy.PRIMARY_ORDER),
        }
    )
