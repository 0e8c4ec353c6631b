"""The answers every operation can give, documented in one place (the OpenAPI ``responses``),
and the input rules the schema states for every operation.

``standardize(spec)`` runs over the generated document:

- 400 for operations with a body (not JSON / not UTF-8), 413 (over the route's body limit),
  422 (validation, FastAPI's shape) wherever there is a parameter or a body;
- 404 for operations with path parameters or a body (an entity they name does not exist);
- 409 for writes (the request conflicts with the current state: the answer says why);
- 503 for everything behind PostgreSQL / NATS (``Retry-After``, JSON reason);
- 429 for the open routes that count failed sign-ins (``/api/v1/login``);
- parameters are never null (FastAPI's ``anyOf [X, null]`` keeps X);
- every request string (parameters and bodies) excludes NUL (PostgreSQL cannot store it;
  ``answers.RejectNul`` refuses it before any route runs);
- ``x-b9-rules`` on operations with rules a JSON Schema cannot state (cross-field checks,
  names that exist only in the running deployment): such a request is answered 422 naming
  the field, and the list says which rules those are.
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"description": "Why (a string, or FastAPI's list of field errors)"},
                   "error": {"type": "string"}},
}
UNAVAILABLE = {
    "type": "object",
    "required": ["detail", "error"],
    "properties": {"detail": {"type": "string"}, "error": {"type": "string"}, "retry_after": {"type": "integer"}},
}
NUL_FREE = "^[^\\u0000]*$"
WRITES = ("post", "put", "patch", "delete")
OPEN_WITH_BODY = ("/api/v1/login",)
VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
# Rules beyond the schema, per operation (answered 422 naming the field).
RULES: dict[tuple[str, str], list[str]] = {
    # the lists' cursors (b9_gateway.cursor): only a page's `next` is one
    **{
        ("get", f"/api/v1/{name}"): ["after: a page's `next` of this list, sort and order; not with page > 1"]
        for name in ("subreddits", "users", "posts", "creators")
    },
    ("post", "/api/v1/replays"): [
        "consumer: '<service>:<consumer>' must name one of that service's consumers, not a work-queue one",
        "stream: the consumer must read that stream",
        "since / until: ISO-8601 or relative (30m, 2h, 1d); until later than since",
        "since excludes from_seq and until excludes to_seq; to_seq >= from_seq",
        "subject: every subject must be one the consumer takes",
    ],
    # SSRF rules that depend on DNS and the deployment's allow-list (b9_common.net.webhook_url)
    ("post", "/api/v1/alerts"): [
        "webhook: an https URL (http only for ALERT_WEBHOOK_ALLOWED_HOSTS) without credentials whose "
        "host is a canonical address or a name resolving only to public addresses",
        "where: the filter language of the 'where' field (fields of the 'on' type, known operators, "
        "at most 200 conditions, 5 levels, 1000 values per list)",
    ],
    ("patch", "/api/v1/alerts/{id_}"): [
        "webhook: an https URL (http only for ALERT_WEBHOOK_ALLOWED_HOSTS) without credentials whose "
        "host is a canonical address or a name resolving only to public addresses",
        "where: the filter language of the 'where' field (fields of the 'on' type, known operators, "
        "at most 200 conditions, 5 levels, 1000 values per list)",
    ],
}


def _error(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or ERROR}}}


def _document(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    has_body = "requestBody" in op
    params = op.get("parameters", [])
    behind = path.startswith(("/api/v1/", "/media/"))
    if has_body:
        responses.setdefault("400", _error("The body is not JSON (or not UTF-8)"))
        responses.setdefault("413", _error("The body is over this route's size limit (the answer names it)"))
    if has_body or params:
        responses.setdefault("422", {"description": "Validation Error (names the field)",
                                     "content": {"application/json": {"schema": VALIDATION}}})
    if has_body or any(p.get("in") == "path" for p in params):
        responses.setdefault("404", _error("No such entity (named in the path, or an id the body names)"))
    if behind and method in WRITES and path not in OPEN_WITH_BODY:
        responses.setdefault("409", _error("Conflicts with the current state (the answer says why)"))
    if behind:
        responses.setdefault("503", {
            **_error("PostgreSQL or NATS is unavailable: retry after Retry-After seconds", UNAVAILABLE),
            "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds"}},
        })
    if path in OPEN_WITH_BODY:
        responses.setdefault("429", {"description": "Too many failed sign-ins from this address (Retry-After)"})
    rules = RULES.get((method, path))
    if rules:
        op["x-b9-rules"] = rules
        op["description"] = (op.get("description") or "") + "\n\nAlso answered 422: " + "; ".join(rules) + "."


def _nul_free(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Add the NUL-excluding pattern to every free string in ``schema`` (following $refs)."""
    if isinstance(schema, list):
        for s in schema:
            _nul_free(s, components, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen and name in components:
            seen.add(name)
            _nul_free(components[name], components, seen)
    if schema.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & schema.keys()):
        schema["pattern"] = NUL_FREE
    for key in ("items", "additionalProperties", "not"):
        _nul_free(schema.get(key), components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        _nul_free(schema.get(key), components, seen)
    for sub in (schema.get("properties") or {}).values():
        _nul_free(sub, components, seen)


def _not_null(param: dict[str, Any]) -> None:
    """A query or path parameter is never null (absent means no value): keep the other branch
    of FastAPI's ``anyOf [X, null]``, as ``query.openapi_parameters`` does for the Struct routes. A
    list parameter with its null branch reads, on the wire, like a bare string."""
    schema = param.get("schema")
    if not isinstance(schema, dict):
        return
    variants = schema.get("anyOf")
    if variants:
        rest = [v for v in variants if v.get("type") != "null"]
        if len(rest) == 1 and len(rest) < len(variants):
            param["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **rest[0]}


def standardize(spec: dict[str, Any]) -> None:
    components = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            _document(path, method, op)
            for param in op.get("parameters", []):
                _not_null(param)
                _nul_free(param.get("schema"), components, seen)
            for media in op.get("requestBody", {}).get("content", {}).values():
                _nul_free(media.get("schema"), components, seen)
