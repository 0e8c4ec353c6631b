"""Settings: one object per service, read once from the environment.

Each service declares a ``msgspec.Struct`` whose field names are the environment
variable names in lower case (``nats_url`` <- ``NATS_URL``). ``load_settings``
converts and validates them; a missing or malformed value raises ``ConfigError``
whose message is one line naming the variable. ``exit_on_config_error`` turns that
into the process's only output line and exit status 2.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)

_PATH_RE = re.compile(r"at `\$\.([a-z0-9_]+)`")


class ConfigError(Exception):
    """A setting is missing or malformed. ``str(err)`` is one line naming it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


def _raw_from_env(cls: type[msgspec.Struct], env: Mapping[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in cls.__struct_fields__:
        value = env.get(name.upper())
        if value is None or value == "":
            continue
        raw[name] = value
    return raw


def load_settings(cls: type[T], env: Mapping[str, str] | None = None) -> T:
    """Build ``cls`` from environment variables (field ``foo_bar`` <- ``FOO_BAR``)."""
    source = os.environ if env is None else env
    raw = _raw_from_env(cls, source)
    try:
        settings = msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _PATH_RE.search(message)
        variable = match.group(1).upper() if match else "environment"
        problem = _PATH_RE.sub("", message).strip(" -")
        if problem.startswith("Object missing required field"):
            problem = "is required but not set"
        raise ConfigError(variable, problem) from None
    check = getattr(settings, "validate", None)
    if callable(check):
        check()
    return settings


def require_url(variable: str, value: str, schemes: tuple[str, ...]) -> None:
    """Raise ConfigError unless ``value`` starts with one of ``schemes``."""
    if not any(value.startswith(f"{s}://") for s in schemes):
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(variable, f"must be a URL starting with {allowed} (got {value!r})")


@contextmanager
def exit_on_config_error(service: str) -> Iterator[None]:
    """Print one clear line and exit 2 when settings are missing or malformed."""
    try:
        yield
    except ConfigError as exc:
        sys.stderr.write(f"{service}: configuration error: {exc}\n")
        raise SystemExit(2) from None


class CommonSettings(msgspec.Struct, kw_only=True):
    """Settings every service shares. Services embed these fields in their own struct."""

    nats_url: str = "nats://127.0.0.1:4222"
    log_level: str = "INFO"
    # Prefix for every stream, subject and bucket: isolates tests and tenants.
    b9_namespace: str = ""
    # Prometheus metrics port; 0 picks a free port, -1 disables the endpoint.
    metrics_port: int = 0
    # Address the metrics endpoint listens on (0.0.0.0 in containers, for Prometheus).
    metrics_host: str = "127.0.0.1"
    # OTLP/HTTP collector base URL (e.g. http://jaeger:4318); empty = tracing off, no cost.
    otel_exporter_otlp_endpoint: str = ""
    # Stream replicas: 1 on one node, 3 on a cluster.
    stream_replicas: int = msgspec.field(default=1)
    replica_id: str = ""
    # Seconds a starting service (and `b9 seed`) retries a missing NATS / PostgreSQL, then exits 1.
    startup_timeout: float = 60.0
    # Age limit of the SCRAPE / DERIVED streams in days; 0 (the default) = none, so that the read
    # model can always be rebuilt from the streams (`b9 rebuild`). DECISIONS never has one.
    facts_max_age_days: float = 0.0

    def validate(self) -> None:
        require_url("NATS_URL", self.nats_url.split(",")[0], ("nats", "tls", "ws", "wss"))
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ConfigError("LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR (got {self.log_level!r})")
        if self.facts_max_age_days < 0:
            raise ConfigError("FACTS_MAX_AGE_DAYS", f"must be >= 0 days, 0 = no limit (got {self.facts_max_age_days})")
        if not 0 < self.startup_timeout <= 86400:
            raise ConfigError("STARTUP_TIMEOUT", f"must be seconds between 0 and 86400 (got {self.startup_timeout})")
        if self.stream_replicas not in (1, 3, 5):
            raise ConfigError("STREAM_REPLICAS", f"must be 1, 3 or 5 (got {self.stream_replicas})")
        if self.b9_namespace and not re.fullmatch(r"[A-Za-z0-9_-]+", self.b9_namespace):
            raise ConfigError("B9_NAMESPACE", "may hold only letters, digits, '_' and '-'")
