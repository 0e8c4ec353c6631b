"""Roles: viewer < reviewer < admin, applied by one policy before any route runs. Every
mutation route of the OpenAPI document is tried (new routes are covered without editing this)."""

from __future__ import annotations

import re
from typing import Any

from b9_common.jetstream.topology import STREAMS
from b9_gateway import policy
from gwaccounts import bearer, person
from gwenv import Env

WRITES = ("post", "put", "patch", "delete")
SAMPLE = {"name": "sub01", "username": "user_1", "key": "creator.1", "id_": "1", "scraper": "reddit",
          "seq": "1", "replay_id": "r1"}
# A body the route would accept (so a refusal is the role's doing); {} for routes not listed.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/subreddits"): {"name": "newsub"},
    ("put", "/api/v1/subreddits/{name}/review"): {"review": "Banned"},
    ("post", "/api/v1/subreddits/review"): {"names": ["sub01"], "review": "Banned"},
    ("put", "/api/v1/subreddits/{name}/tags"): {"tags": ["niche:cosplay"]},
    ("post", "/api/v1/subreddits/tags"): {"names": ["sub01"], "add": ["niche:cosplay"]},
    ("post", "/api/v1/users"): {"username": "someone"},
    ("put", "/api/v1/users/{username}/our-creator"): {"our_creator": True},
    ("put", "/api/v1/users/{username}/model"): {"model_id": None},
    ("post", "/api/v1/users/bulk"): {"usernames": ["user_1"], "our_creator": True},
    ("post", "/api/v1/creators"): {"username": "someone"},
    ("post", "/api/v1/creators/related"): {"batch_size": 1},
    ("put", "/api/v1/creators/{key}/review"): {"review_status": "ok"},
    ("post", "/api/v1/creators/review"): {"ids": ["creator.1"], "review_status": "ok"},
    ("put", "/api/v1/creators/{key}/niche"): {"niche": "fitness"},
    ("post", "/api/v1/creators/niche"): {"ids": ["creator.1"], "niche": "fitness"},
    ("post", "/api/v1/models"): {"name": "m"},
    ("patch", "/api/v1/models/{id_}"): {"name": "m2"},
    ("put", "/api/v1/scrapers/{scraper}/config"): {"interval_seconds": 60},
    ("post", "/api/v1/categorization/start"): {},
    ("post", "/api/v1/dlq/purge"): {},
    ("post", "/api/v1/replays"): {"consumer": "persistence", "dry_run": True},
}


def mutations(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(method, path template, concrete path) of every authenticated write in the document."""
    found = []
    for template, ops in spec["paths"].items():
        for method in ops:
            if method in WRITES and policy.needs_auth(template):
                path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE.get(m.group(1), "x"), template)
                found.append((method, template, path))
    return found


async def snapshot(env: Env) -> dict[str, Any]:
    """Everything a mutation could change: every table's rows, stream sequences, control KV."""
    tables = [r["tablename"] for r in await env.pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    state: dict[str, Any] = {}
    for t in tables:
        state[t] = await env.pool.fetchval(f'SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) '
                                           f'FROM "{t}" x')
    for s in STREAMS:
        info = await env.rt.js.stream_info(env.rt.topology.stream(s))
        state[f"stream:{s}"] = info.state.last_seq
    control = await env.rt.topology.control_kv(env.rt.js)
    state["control"] = (await control.status()).values
    return state


async def test_the_viewers_mutations_get_403_and_change_nothing(fresh: Env) -> None:
    spec = (await fresh.client.get("/openapi.json")).json()
    routes = mutations(spec)
    assert len(routes) >= 25  # the document lists them all (a broken listing must not pass)
    own = [(m, t) for m, t, p in routes if policy.role_needed(m.upper(), p) == "viewer"]
    assert own == [("post", "/api/v1/notifications/read")]  # a viewer's one write: their own read mark
    routes = [r for r in routes if (r[0], r[1]) not in own]
    _, viewer = await person(fresh, "vera", "viewer")
    before = await snapshot(fresh)
    for method, template, path in routes:
        body = BODIES.get((method, template), {})
        r = await fresh.anon.request(method.upper(), path, json=body if method != "delete" else None,
                                     headers=bearer(viewer))
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        detail = r.json()
        assert detail["role"] == "viewer" and detail["needed"] in ("reviewer", "admin"), detail
        assert f"needs the {detail['needed']} role" in detail["detail"] and "vera is viewer" in detail["detail"]
    assert await snapshot(fresh) == before
    # and reads are the viewer's: every list and the overview
    for path in ("/api/v1/subreddits", "/api/v1/overview", "/api/v1/scrapers", "/api/v1/dlq", "/api/v1/models"):
        assert (await fresh.anon.get(path, headers=bearer(viewer))).status_code == 200, path


async def test_reviewers_review_but_do_not_run_the_machine(fresh: Env) -> None:
    spec = (await fresh.client.get("/openapi.json")).json()
    _, ann = await person(fresh, "ann", "reviewer")
    _, ben = await person(fresh, "ben", "reviewer")
    for method, template, path in mutations(spec):
        needed = policy.role_needed(method.upper(), path)
        if needed != "admin":
            continue
        r = await fresh.anon.request(method.upper(), path, json=BODIES.get((method, template), {}),
                                     headers=bearer(ann))
        assert r.status_code == 403 and r.json()["needed"] == "admin", (path, r.text)
    r = await fresh.anon.put("/api/v1/subreddits/sub01/review", json={"review": "Banned"}, headers=bearer(ann))
    assert r.status_code == 200, r.text
    r = await fresh.anon.put("/api/v1/subreddits/sub02/review", json={"review": "Ok"}, headers=bearer(ben))
    assert r.status_code == 200, r.text
    r = await fresh.anon.post("/api/v1/models", json={"name": "by-ben"}, headers=bearer(ben))
    assert r.status_code in (200, 201), r.text
    for who, key in (("ann", ann), ("ben", ben)):
        me = (await fresh.anon.get("/api/v1/session", headers=bearer(key))).json()
        assert me["name"] == who and me["role"] == "reviewer"


def test_policy_maps_every_write_to_reviewer_or_admin_but_read_marks() -> None:
    from b9_gateway.app import create_app
    from b9_gateway.settings import Settings

    spec = create_app(Settings(gateway_api_key="k" * 16)).openapi()
    roles = {(m, t): policy.role_needed(m.upper(), p) for m, t, p in mutations(spec)}
    assert roles.pop(("post", "/api/v1/notifications/read")) == "viewer"  # a person's own read mark
    assert set(roles.values()) == {"reviewer", "admin"}
    admin = {t for (_, t), r in roles.items() if r == "admin"}
    assert all(t.startswith(("/api/v1/scrapers", "/api/v1/dlq", "/api/v1/replays", "/api/v1/accounts")) for t in admin)
    assert {"/api/v1/scrapers/{scraper}/stop", "/api/v1/dlq/purge", "/api/v1/replays"} <= admin
    assert policy.role_needed("GET", "/api/v1/accounts") == "admin"
    assert policy.role_needed("GET", "/api/v1/dlq") == "viewer"
    assert policy.role_needed("POST", "/somewhere/new") == "admin"  # unknown writes: the most careful
