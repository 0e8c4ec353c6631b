"""Alert rules (decisions on DECISIONS, applied by persistence) and the notifications they make.

Rules are made, changed, paused and deleted by reviewers and admins (``policy``: writes under
/api/v1 need reviewer); every change is a decision with its actor and shows in /api/v1/history
(entity_type ``alert_rule``). The filter language is documented on ``AlertBody.where``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from b9_common.alerting.rules import TARGETS, WhereError, compile_where
from b9_common.alerting.rules import __doc__ as WHERE_DOC
from b9_common.events import new_id
from b9_common.events.alerts import AlertRuleCreated, AlertRuleDeleted, AlertRuleUpdated, NotificationsRead
from b9_common.net import webhook_url
from b9_readmodel import alerts as rm
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import Field, StringConstraints

from b9_gateway.decide import DECIDED, actor_of, decided
from b9_gateway.deps import Deps, get_deps
from b9_gateway.http import JSON, invalid, not_found, page_bytes, require_stored, rows
from b9_gateway.openapi import doc
from b9_gateway.routes.models import Deleted
from b9_gateway.schemas import MAX_PER_PAGE, Body, DateTime

router = APIRouter(tags=["alerts"])
On = Literal[tuple(TARGETS)]  # type: ignore[valid-type]
RuleId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]  # as sent: schema = behaviour
WHERE_HELP = "Filter over the event's fields (all hold). " + (WHERE_DOC or "").split("The ``where`` language::")[-1]
WHERE_HELP += "\nFields per `on`:\n" + "\n".join(f"- {t.name}: {', '.join(sorted(t.fields))}" for t in TARGETS.values())
ON_HELP = "What to watch: " + "; ".join(f"{t.name}: {t.summary}" for t in TARGETS.values())


class AlertRule(msgspec.Struct):
    id: str
    name: str
    on: str
    where: dict[str, Any]
    webhook: str | None
    slack: bool
    repeat: str
    cap: int
    window_seconds: int
    paused: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class Notification(msgspec.Struct):
    id: str
    rule_id: str
    rule_name: str
    on: str
    entity: str
    title: str
    link: str
    event_type: str
    event_at: datetime | None
    fields: dict[str, Any]
    digest: bool
    count: int
    entities: list[str]
    replayed: bool
    created_at: datetime
    unread: bool  # for the person asking: after their read mark (or 'since')


class ReadBody(Body):
    up_to: DateTime = Field(strict=False, description="created_at of the newest notification read (the first listed)")
    up_to_id: str = Field(default="", max_length=64, description="Its id (several can share a created_at)")


class Delivery(msgspec.Struct):
    delivery_id: str
    notification_id: str
    url_host: str
    outcome: str
    attempts: int
    status: int | None
    reason: str
    duration_ms: int
    at: datetime


class AlertBody(Body):
    name: Name
    on: On = Field(description=ON_HELP)  # type: ignore[valid-type]
    where: dict[str, Any] = Field(default_factory=dict, description=WHERE_HELP)
    webhook: str | None = Field(default=None, max_length=2000,
                                description="https URL (loopback/private hosts only if ALERT_WEBHOOK_ALLOWED_HOSTS "
                                            "names them); POSTed a signed JSON body per notification")
    slack: bool = Field(default=False, description="Send Slack-compatible bodies ({\"text\": ...})")
    repeat: Literal["once", "every"] = Field(default="once", description="once: one notification per entity "
                                             "(per rule revision); every: one per matching event")
    cap: int = Field(default=20, ge=1, le=10_000, description="Notifications per window; the rest become one digest")
    window_seconds: int = Field(default=60, ge=1, le=86_400)
    paused: bool = False


class AlertPatch(Body):
    name: Name | None = None
    on: On | None = Field(default=None, description=ON_HELP)  # type: ignore[valid-type]
    where: dict[str, Any] | None = Field(default=None, description=WHERE_HELP)
    webhook: str | None = Field(default=None, max_length=2000, description='"" removes the webhook')
    slack: bool | None = None
    repeat: Literal["once", "every"] | None = None
    cap: int | None = Field(default=None, ge=1, le=10_000)
    window_seconds: int | None = Field(default=None, ge=1, le=86_400)
    paused: bool | None = None


async def _check(deps: Deps, on: str, where: dict[str, Any] | None, webhook: str | None) -> None:
    if where is not None:
        try:
            compile_where(where, TARGETS[on].fields)
        except WhereError as exc:
            raise invalid("body", "where", str(exc)) from None
    if webhook:
        allowed = webhook_url.parse_hosts(deps.settings.alert_webhook_allowed_hosts)
        why = await webhook_url.resolve_problem(webhook, allowed)
        if why:
            raise invalid("body", "webhook", f"webhook refused: {why}")


async def _one(deps: Deps, id_: str) -> dict[str, Any]:
    row = await rm.rule(deps.pool, id_)
    if row is None:
        raise not_found(f"alert rule {id_}")
    return dict(row)


@router.post("/alerts", status_code=201, responses=doc(AlertRule, status=201), summary="Make an alert rule")
async def create_alert(body: AlertBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    await _check(deps, body.on, body.where, body.webhook)
    rule_id = new_id()
    event = AlertRuleCreated(rule_id=rule_id, actor=actor_of(request), **body.model_dump())
    ids, stored = await deps.decider.decide([event])
    require_stored(stored, ids)
    return JSON(await _one(deps, rule_id), status_code=201)


@router.get("/alerts", responses=doc(AlertRule, many=True), summary="Every alert rule")
async def list_alerts(deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(rows(await rm.rules(deps.pool)))


@router.get("/alerts/{id_}", responses=doc(AlertRule), summary="One alert rule")
async def get_alert(id_: RuleId, deps: Deps = Depends(get_deps)) -> JSON:
    return JSON(await _one(deps, id_))


@router.patch("/alerts/{id_}", responses=doc(AlertRule), summary="Change, pause or resume an alert rule")
async def patch_alert(id_: RuleId, body: AlertPatch, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    current = await _one(deps, id_)
    changes = body.model_dump(exclude_none=True)
    if changes:
        on = changes.get("on", current["on"])
        await _check(deps, on, changes.get("where", current["where"] if "on" in changes else None),
                     changes.get("webhook"))
        before = {k: current[k] for k in changes}
        ids, stored = await deps.decider.decide([AlertRuleUpdated(rule_id=id_, before=before,
                                                                  actor=actor_of(request), **changes)])
        require_stored(stored, ids)
    return JSON(await _one(deps, id_))


@router.delete("/alerts/{id_}", responses=doc(Deleted), summary="Delete an alert rule")
async def delete_alert(id_: RuleId, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    current = await _one(deps, id_)
    ids, stored = await deps.decider.decide([AlertRuleDeleted(rule_id=id_, name=current["name"],
                                                              actor=actor_of(request))])
    require_stored(stored, ids)
    return JSON({"deleted": True})


@router.get("/alerts/{id_}/deliveries", responses=doc(Delivery, paged=True),
            summary="The rule's webhook delivery log, newest first")
async def deliveries(id_: RuleId, page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                     per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
                     deps: Deps = Depends(get_deps)) -> JSON:
    async with deps.pool.acquire() as conn:
        found, total = await rm.deliveries_page(conn, id_, per_page, (page - 1) * per_page)
    return JSON(page_bytes(Delivery, found, total, page, per_page))


@router.get("/notifications", responses=doc(Notification, paged=True),
            summary="Notifications, newest first; 'unread' counts those after the caller's read mark")
async def notifications(
    request: Request,
    since: Annotated[DateTime | None, Query(description="Count as unread those created after this instead of "
                                                          "after the caller's read mark (POST /notifications/read)")]
    = None,
    rule: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
    deps: Deps = Depends(get_deps),
) -> JSON:
    async with deps.pool.acquire() as conn:
        got = await rm.notifications_page(conn, actor_of(request).id, since, rule, per_page, (page - 1) * per_page)
    found, total, unread, mark = got.rows, got.total, got.unread, got.mark
    body = msgspec.json.decode(page_bytes(Notification, found, total, page, per_page))
    return JSON({**body, "unread": unread, "read_up_to": mark[0] if mark else None,
                 "read_up_to_id": mark[1] if mark else None})


@router.post("/notifications/read", responses=DECIDED,
             summary="Mark the caller's notifications read up to one: read on every browser of the account")
async def mark_read(body: ReadBody, request: Request, deps: Deps = Depends(get_deps)) -> JSON:
    ids, stored = await deps.decider.decide([NotificationsRead(actor=actor_of(request), up_to=body.up_to,
                                                               up_to_id=body.up_to_id)])
    return decided(ids, stored, updated=1, missing=[])
