"""OpenTelemetry tracing: one trace per subreddit's path through the services, or nothing.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (``init``): then ``ENABLED`` stays False,
b9 imports nothing of OpenTelemetry (the gateway's FastAPI imports its API on its own) and
every hook in the runtime is one module-level flag check (no span objects). On, spans are
exported over OTLP/HTTP (``<endpoint>/v1/traces``):

- the gateway's HTTP requests (``b9_gateway.observe``), SERVER spans from ``traceparent``;
- every publish (PRODUCER): W3C ``traceparent`` goes in the NATS headers; the envelope's
  ``trace`` field holds the parent's traceparent (so it still names the trace id);
- every consumed message (CONSUMER, parent = the message's ``traceparent``, else a
  traceparent in the envelope's ``trace``) with a handler span inside. A batch gets one
  CONSUMER span per message and one handler span whose parent is the first message's span
  and which links the others. While its handler runs, each delivery's ``envelope.trace`` is
  its own CONSUMER span's traceparent: whatever a handler publishes with ``trace=env.trace``
  (the categorizer's results) continues that message's trace;
- database writes and upstream calls (``span``, ``upstream_trace_configs``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

import aiohttp

from b9_common.ops.metrics import UPSTREAM_CALLS

ENABLED = False
TRACEPARENT = "traceparent"
_tracer: Any = None
_provider: Any = None
_otel: Any = None  # the opentelemetry.trace module, once enabled
_NOOP = contextlib.nullcontext()
_MAX_LINKS = 128


def traces_url(endpoint: str) -> str:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` is the collector's base URL; traces go to ``/v1/traces``."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def init(service: str, version: str, endpoint: str, *, exporter: Any = None) -> bool:
    """Turn tracing on when ``endpoint`` (or a test's ``exporter``) is given. Idempotent: the
    first service of a process sets the provider, later ones (tests run several) share it."""
    global ENABLED, _tracer, _provider, _otel
    if ENABLED:
        return True
    if not endpoint and exporter is None:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create(
        {"service.name": f"b9-{service}", "service.version": version, "service.namespace": "b9"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(endpoint))))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _provider, _otel = provider, trace
    _tracer = provider.get_tracer("b9_common.ops.tracing", version)
    ENABLED = True
    return True


def shutdown() -> None:
    """Flush and turn tracing off (tests; a service's process simply exits)."""
    global ENABLED, _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    ENABLED, _tracer, _provider = False, None, None


# -- trace context -------------------------------------------------------------------
def format_traceparent(span: Any) -> str:
    c = span.get_span_context()
    return f"00-{c.trace_id:032x}-{c.span_id:016x}-{int(c.trace_flags):02x}"


def current_traceparent() -> str | None:
    """The current span's traceparent (None without a valid current span or when off)."""
    if not ENABLED:
        return None
    span = _otel.get_current_span()
    return format_traceparent(span) if span.get_span_context().is_valid else None


def parse_traceparent(value: str | None) -> Any:
    """A context whose parent is the remote span ``value`` names, or None if it is not one."""
    if not value or len(value) != 55 or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    try:
        trace_id, span_id, flags = int(value[3:35], 16), int(value[36:52], 16), int(value[53:], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    ctx = SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(flags & 1))
    return _otel.set_span_in_context(NonRecordingSpan(ctx))


def message_context(headers: Mapping[str, str] | None, envelope: Any) -> Any:
    """A message's parent: its ``traceparent`` header, else a traceparent in ``envelope.trace``."""
    ctx = parse_traceparent(headers.get(TRACEPARENT)) if headers else None
    if ctx is None and envelope is not None:
        ctx = parse_traceparent(envelope.trace)
    return ctx


# -- spans -----------------------------------------------------------------------------
def span(name: str, attributes: Mapping[str, Any] | None = None, *, kind: str = "internal") -> Any:
    """A child span of the current one as a context manager; a shared no-op when off."""
    if not ENABLED:
        return _NOOP
    return _tracer.start_as_current_span(name, kind=getattr(_otel.SpanKind, kind.upper()),
                                         attributes=attributes)


def server_span(name: str, parent: Any, attributes: Mapping[str, Any]) -> Any:
    """The SERVER span of one HTTP request (current while the request is handled)."""
    return _tracer.start_as_current_span(name, context=parent, kind=_otel.SpanKind.SERVER,
                                         attributes=attributes)


def start_publish(subject: str, env: Any) -> Any:
    """A PRODUCER span for one publish, child of the envelope's traceparent or the current span."""
    return _tracer.start_span(f"publish {env.type}", context=parse_traceparent(env.trace),
                              kind=_otel.SpanKind.PRODUCER, attributes={
                                  "messaging.system": "nats", "messaging.operation.type": "send",
                                  "messaging.destination.name": subject, "messaging.message.id": env.id,
                                  "b9.source": env.source})


@contextlib.contextmanager
def publishing(subject: str, env: Any, headers: dict[str, str]) -> Iterator[None]:
    """Span one publish and put its ``traceparent`` into ``headers``."""
    s = start_publish(subject, env)
    headers[TRACEPARENT] = format_traceparent(s)
    with _otel.use_span(s, end_on_exit=True):
        yield


def _consume_span(consumer: str, d: Any) -> Any:
    env = d.envelope
    return _tracer.start_span(f"process {d.type}", context=message_context(d.msg.headers, env),
                              kind=_otel.SpanKind.CONSUMER, attributes={
                                  "messaging.system": "nats", "messaging.operation.type": "process",
                                  "messaging.destination.name": d.msg.subject,
                                  "messaging.consumer.group.name": consumer,
                                  "messaging.message.id": env.id if env is not None else "",
                                  "b9.delivery": d.meta.num_delivered, "b9.stream_seq": d.meta.stream_seq})


def _finish(s: Any, d: Any, exc: BaseException | None = None) -> None:
    outcome = d.outcome
    if outcome is None and exc is not None:
        from b9_common.errors import Reject, Skip

        outcome = "skip" if isinstance(exc, Skip) else "reject" if isinstance(exc, Reject) else "retry"
        d_reason = getattr(exc, "reason", "") or f"{type(exc).__name__}: {exc}"
    else:
        outcome, d_reason = outcome or "ack", d.reason
    s.set_attribute("b9.outcome", outcome)
    if outcome in ("retry", "reject"):
        s.set_status(_otel.Status(_otel.StatusCode.ERROR, str(d_reason)[:200]))
    s.end()


async def run_handler(handler: Callable[[Any], Awaitable[None]], d: Any, consumer: str) -> None:
    """Call a per-event handler inside its message's CONSUMER span and a handler span."""
    s = _consume_span(consumer, d)
    d.envelope.trace = format_traceparent(s)
    error: BaseException | None = None
    try:
        with _otel.use_span(s, end_on_exit=False), \
                _tracer.start_as_current_span(f"handle {d.type}", attributes={"b9.consumer": consumer}):
            await handler(d.envelope)
    except BaseException as exc:
        error = exc
        raise
    finally:
        _finish(s, d, error)


async def run_batch(handler: Callable[[list[Any]], Awaitable[None]], ds: list[Any], consumer: str) -> None:
    """Call a batch handler: one CONSUMER span per message, one handler span linking them."""
    spans = [_consume_span(consumer, d) for d in ds]
    for d, s in zip(ds, spans, strict=True):
        d.envelope.trace = format_traceparent(s)
    links = [_otel.Link(s.get_span_context()) for s in spans[1:_MAX_LINKS + 1]]
    parent = _otel.set_span_in_context(spans[0]) if spans else None
    error: BaseException | None = None
    try:
        with _tracer.start_as_current_span(f"handle batch {consumer}", context=parent, links=links,
                                           attributes={"b9.consumer": consumer, "b9.batch": len(ds)}):
            await handler(ds)
    except BaseException as exc:
        error = exc
        raise
    finally:
        for d, s in zip(ds, spans, strict=True):
            _finish(s, d, error)


# -- upstream HTTP calls ---------------------------------------------------------------
def upstream_trace_configs(upstream: str) -> list[aiohttp.TraceConfig]:
    """For ``aiohttp.ClientSession(trace_configs=...)``: counts every request in
    ``b9_upstream_calls_total{upstream,status}`` and, when tracing is on, spans it (CLIENT)
    and sends ``traceparent`` upstream."""
    tc = aiohttp.TraceConfig()

    async def on_start(session: Any, ctx: Any, params: aiohttp.TraceRequestStartParams) -> None:
        if ENABLED:
            url = params.url
            s = _tracer.start_span(f"{params.method} {upstream}", kind=_otel.SpanKind.CLIENT, attributes={
                "http.request.method": params.method, "server.address": url.host or "",
                "url.path": url.path, "b9.upstream": upstream})
            params.headers[TRACEPARENT] = format_traceparent(s)
            ctx.span = s

    async def on_end(session: Any, ctx: Any, params: aiohttp.TraceRequestEndParams) -> None:
        UPSTREAM_CALLS.labels(upstream, str(params.response.status)).inc()
        s = getattr(ctx, "span", None)
        if s is not None:
            s.set_attribute("http.response.status_code", params.response.status)
            if params.response.status >= 500:
                s.set_status(_otel.Status(_otel.StatusCode.ERROR))
            s.end()

    async def on_error(session: Any, ctx: Any, params: aiohttp.TraceRequestExceptionParams) -> None:
        UPSTREAM_CALLS.labels(upstream, "error").inc()
        s = getattr(ctx, "span", None)
        if s is not None:
            s.record_exception(params.exception)
            s.set_status(_otel.Status(_otel.StatusCode.ERROR, type(params.exception).__name__))
            s.end()

    tc.on_request_start.append(on_start)
    tc.on_request_end.append(on_end)
    tc.on_request_exception.append(on_error)
    return [tc]


@contextlib.contextmanager
def upstream_call(upstream: str, name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[None]:
    """One call to an upstream SDK (OpenAI): counted, and spanned when tracing is on."""
    status = "ok"
    try:
        with span(f"{name} {upstream}", {"b9.upstream": upstream, **(attributes or {})}, kind="client"):
            yield
    except Exception:
        status = "error"
        raise
    finally:
        UPSTREAM_CALLS.labels(upstream, status).inc()
