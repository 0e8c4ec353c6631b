"""The OpenAPI document and the behaviour agree, rule by rule (the deterministic companion of
test_schemathesis.py): typed query parameters refuse the text "null", NUL characters are refused
everywhere and the schema says so, 405 lists every method of a path, tags / replay consumers are
enums, an empty bulk update is invalid in the schema too, JSON bodies are strict (0 is not
false) but 66.0 is the integer 66, integer bounds are exact in a JSON number, and every
operation documents the answers it can give."""

from __future__ import annotations

from typing import Any

import pytest
from b9_gateway.responses import NUL_FREE
from b9_gateway.schemas import MAX_INT
from gwenv import Env


@pytest.fixture(scope="module")
async def spec(env: Env) -> dict[str, Any]:
    doc: dict[str, Any] = (await env.anon.get("/openapi.json")).json()
    return doc


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def _body_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    op = spec["paths"][path][method]
    return _resolve(spec, op["requestBody"]["content"]["application/json"]["schema"])


@pytest.mark.parametrize("query", ["/api/v1/posts?over18=null", "/api/v1/users?our_creator=null",
                                   "/api/v1/reels?min_views=null", "/api/v1/subreddits?verification_required=null",
                                   "/api/v1/creators?review=null"])
async def test_the_text_null_is_not_no_filter(env: Env, query: str) -> None:
    r = await env.client.get(query)
    assert r.status_code == 422, (query, r.text)
    assert "leave it out for no filter" in r.json()["error"]


async def test_null_stays_text_for_text_parameters(env: Env) -> None:
    r = await env.client.get("/api/v1/users?q=null")
    assert r.status_code == 200 and r.json()["items"] == []


async def test_nul_is_refused_in_query_path_and_body_and_excluded_by_the_schema(env: Env, spec: dict[str, Any]) -> None:
    for r in (await env.client.get("/api/v1/recommendations?tags=a%00b"),
              await env.client.get("/api/v1/users/ab%00c"),
              await env.client.post("/api/v1/creators", json={"username": "someone", "niche": "a\u0000b"}),
              await env.client.put("/api/v1/scrapers/reddit/config", json={"by": "x\u0000"})):
        assert r.status_code == 422 and "NUL characters" in r.json()["error"], r.text
    unauthenticated = await env.anon.post("/api/v1/creators", json={"username": "a\u0000"})
    assert unauthenticated.status_code == 401  # the key first
    free = []
    for ops in spec["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                schema = p["schema"].get("items", p["schema"])
                if schema.get("type") == "string" and not {"enum", "format"} & schema.keys():
                    free.append((p["name"], schema.get("pattern")))
    assert free and all(pattern is not None for _, pattern in free), [f for f in free if f[1] is None]
    assert _body_schema(spec, "put", "/api/v1/scrapers/reddit/config")["properties"]["by"]["pattern"] == NUL_FREE


async def test_405_lists_every_method_of_the_path(env: Env) -> None:
    r = await env.client.request("DELETE", "/api/v1/users")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) >= {"GET", "POST"}, r.headers
    r = await env.client.get("/api/v1/dlq/purge")  # not read as GET /dlq/{seq}
    assert r.status_code == 405 and "POST" in r.headers["allow"], (r.status_code, r.text)


async def test_tags_and_replay_consumers_are_enums(env: Env, spec: dict[str, Any]) -> None:
    tags = _body_schema(spec, "put", "/api/v1/subreddits/{name}/tags")["properties"]["tags"]["items"]
    assert "niche:fitness" in tags["enum"] and len(tags["enum"]) == 82
    r = await env.client.put("/api/v1/subreddits/sub1/tags", json={"tags": ["niche:nope"]})
    assert r.status_code == 422 and "unknown tag 'niche:nope'" in r.json()["error"]
    consumer = _body_schema(spec, "post", "/api/v1/replays")["properties"]["consumer"]
    assert {"persistence", "categorizer"} <= set(consumer["anyOf"][0]["enum"])
    assert spec["paths"]["/api/v1/replays"]["post"]["x-b9-rules"]


async def test_an_empty_bulk_update_is_invalid_in_the_schema_too(env: Env, spec: dict[str, Any]) -> None:
    schema = _body_schema(spec, "post", "/api/v1/users/bulk")
    assert [b["required"] for b in schema["anyOf"]] == [["our_creator"], ["model_id"], ["clear_model"]]
    r = await env.client.post("/api/v1/users/bulk", json={"usernames": ["user_1"], "our_creator": None})
    assert r.status_code == 422


async def test_bodies_are_strict_but_whole_floats_are_integers(env: Env) -> None:
    r = await env.client.post("/api/v1/categorization/start", json={"force": 0})
    assert r.status_code == 422 and "force" in r.json()["error"]
    r = await env.client.put("/api/v1/scrapers/reddit/config", json={"batch_size": "7"})
    assert r.status_code == 422
    r = await env.client.put("/api/v1/scrapers/reddit/config", json={"batch_size": 7.0})
    assert r.status_code == 200 and r.json()["control"]["batch_size"] == 7
    r = await env.client.put("/api/v1/scrapers/reddit/config", json={"requests_per_hour": 5})
    assert r.status_code == 422  # the instagram unit: not in the reddit body's schema


async def test_every_operation_documents_its_answers(spec: dict[str, Any]) -> None:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            if path.startswith(("/api/v1/", "/media/")):
                assert "503" in codes, (method, path)
            if "requestBody" in op:
                assert {"400", "404", "413", "422"} <= codes, (method, path, codes)
            if any(p["in"] == "path" for p in op.get("parameters", [])):
                assert "404" in codes, (method, path)


def _maxima(schema: Any) -> list[int]:
    if isinstance(schema, dict):
        own = [schema["maximum"]] if isinstance(schema.get("maximum"), int) else []
        return own + [m for v in schema.values() for m in _maxima(v)]
    if isinstance(schema, list):
        return [m for v in schema for m in _maxima(v)]
    return []


async def test_integer_bounds_are_exact_json_numbers(spec: dict[str, Any]) -> None:
    found = _maxima(spec["paths"]) + _maxima(spec["components"]["schemas"])
    assert found and max(found) <= MAX_INT, sorted(found)[-3:]


async def test_a_scalar_query_parameter_given_twice_is_refused(env: Env) -> None:
    for query in ("/api/v1/posts?over18=abc&over18=true", "/api/v1/recommendations?tags=niche:yoga&sfw=x&sfw=true",
                  "/api/v1/users?sort=karma&sort=username"):
        r = await env.client.get(query)
        assert r.status_code == 422 and "given more than once" in r.json()["error"], (query, r.text)
    r = await env.client.get("/api/v1/recommendations?tags=niche:yoga&tags=niche:fitness&sfw=true")
    assert r.status_code == 200  # arrays repeat


async def test_an_optional_array_parameter_may_repeat(env: Env) -> None:
    """``tags: list[str] | None`` is documented as anyOf [array, null]: still an array."""
    r = await env.client.post("/api/v1/models", json={"name": "repeat-tags"})
    assert r.status_code == 201, r.text
    r = await env.client.get(f"/api/v1/models/{r.json()['id']}/recommendations?tags=niche:yoga&tags=niche:fitness")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("since", "status"), [("0.5", 422), ("1700000000", 422), ("2026-01-31", 422),
                                               ("2026-01-31T12:00:00", 422), ("2026-01-31T12:00:00Z", 200),
                                               ("2026-01-31T12:00:00.5+02:00", 200)])
async def test_a_date_time_parameter_takes_rfc3339_only(env: Env, since: str, status: int) -> None:
    """format: date-time in the document; pydantic alone read 0.5 as a Unix time."""
    r = await env.client.get("/api/v1/notifications", params={"since": since})
    assert r.status_code == status, r.text


async def test_every_json_success_answer_has_its_shape_documented(spec: dict[str, Any]) -> None:
    """A route without ``responses=doc(...)`` is documented by FastAPI as a JSON *string*
    (how DELETE /alerts/{id} answered {"deleted": true} against its document)."""
    vague = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for code, resp in op["responses"].items():
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and schema is not None and "$ref" not in schema \
                        and schema.get("type") not in ("object", "array"):
                    vague.append((method, path, code, schema))
    assert not vague, vague


async def test_parameters_are_never_null_in_the_document(spec: dict[str, Any]) -> None:
    """A list parameter documented as anyOf [array, null] let a bare string pass as 'invalid'
    although it is the same request on the wire as a one-item list."""
    nullable = [(path, p["name"]) for path, ops in spec["paths"].items() for op in ops.values()
                for p in op.get("parameters", []) if any(v.get("type") == "null" for v in p["schema"].get("anyOf", []))]
    assert not nullable, nullable
