"""/api/v1/accounts: admins manage people's accounts over the API (the store of `b9 users`)."""

from __future__ import annotations

from gwaccounts import bearer, person
from gwenv import Env


async def test_admins_add_list_disable_rotate_and_change_roles(env: Env) -> None:
    c = env.client  # GATEWAY_API_KEY: admin
    r = await c.post("/api/v1/accounts", json={"name": "nina", "role": "viewer"})
    assert r.status_code == 201, r.text
    nina, key = r.json()["account"], r.json()["key"]
    assert nina["name"] == "nina" and nina["role"] == "viewer" and key.startswith(f"b9_{nina['id']}_")
    assert (await env.anon.get("/api/v1/session", headers=bearer(key))).json()["name"] == "nina"
    assert (await c.post("/api/v1/accounts", json={"name": "nina", "role": "admin"})).status_code == 409
    assert (await c.post("/api/v1/accounts", json={"name": "no spaces", "role": "admin"})).status_code == 422
    listed = (await c.get("/api/v1/accounts")).json()
    assert "nina" in {a["name"] for a in listed} and all("key_hash" not in a for a in listed)

    r = await c.put("/api/v1/accounts/nina/role", json={"role": "reviewer"})
    assert r.status_code == 200 and r.json()["role"] == "reviewer"
    assert (await env.anon.get("/api/v1/session", headers=bearer(key))).json()["role"] == "reviewer"
    r = await c.post("/api/v1/accounts/nina/key")
    new_key = r.json()["key"]
    assert r.status_code == 200 and new_key != key
    assert (await env.anon.get("/api/v1/session", headers=bearer(key))).status_code == 401
    assert (await c.post("/api/v1/accounts/nina/disable")).json()["disabled"] is True
    assert (await env.anon.get("/api/v1/session", headers=bearer(new_key))).status_code == 401
    assert (await c.post("/api/v1/accounts/nina/enable")).json()["disabled"] is False
    assert (await env.anon.get("/api/v1/session", headers=bearer(new_key))).status_code == 200
    assert (await c.post("/api/v1/accounts/nobody/disable")).status_code == 404


async def test_only_admins_see_accounts(env: Env) -> None:
    _, reviewer = await person(env, "otto", "reviewer")
    r = await env.anon.get("/api/v1/accounts", headers=bearer(reviewer))
    assert r.status_code == 403 and r.json()["needed"] == "admin"
    r = await env.anon.post("/api/v1/accounts", json={"name": "sneaky", "role": "admin"}, headers=bearer(reviewer))
    assert r.status_code == 403
    _, admin = await person(env, "ada", "admin")
    assert (await env.anon.get("/api/v1/accounts", headers=bearer(admin))).status_code == 200
