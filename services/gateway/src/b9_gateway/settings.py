"""Gateway settings, read once from the environment."""

from __future__ import annotations

import os

import msgspec
from b9_common.settings import CommonSettings, ConfigError, require_url

from b9_gateway.ratelimit import Networks, parse_networks


def auto_pool_size() -> int:
    """Half this machine's cores, at least 2: a few workers together keep PostgreSQL's active
    connections near twice its cores. More is slower, not faster: on 2 cores (2 workers,
    PostgreSQL and the load generator) the list p99 was 23-45 ms with 2 connections per
    worker, 31-96 ms with 4 and 30-176 ms with 10, at the same requests/s (bench_gateway)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2
    return max(2, cores // 2)


class Settings(CommonSettings, kw_only=True):
    gateway_port: int = 8000
    gateway_host: str = "127.0.0.1"
    # Optional admin key for scripts (people use their own keys: ``b9 users add``).
    gateway_api_key: str = ""
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    media_store_url: str = "file:///tmp/b9-media"
    s3_endpoint_url: str = ""
    aws_region: str = ""
    media_public_base_url: str = ""
    # Comma-separated origins allowed by CORS ("" = none, "*" = any).
    gateway_cors_origins: str = ""
    # Connections per process for requests (0 = auto: ``auto_pool_size()``), plus one for
    # background counts.
    gateway_pool_size: int = 0
    # Token bucket per client: sustained requests per second and burst size (0 disables).
    gateway_rate_limit: float = 50.0
    gateway_rate_burst: int = 200
    # Overview stats are cached this long (seconds).
    gateway_overview_ttl: float = 3.0
    # Session cookie lifetime (seconds) after POST /api/v1/login.
    gateway_session_ttl: int = msgspec.field(default=7 * 86_400)
    # Replays (POST /api/v1/replays) running at once (counted over every owning service).
    gateway_max_replays: int = 2
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or CIDRs).
    gateway_trusted_proxies: str = ""
    # Failed authentications per client address: refill per second and burst (then 429).
    gateway_auth_fail_rate: float = 0.2
    gateway_auth_fail_burst: int = 20
    # Alert webhooks to these hosts may be loopback/private/http (comma-separated; "*.domain").
    alert_webhook_allowed_hosts: str = ""

    def validate(self) -> None:
        super().validate()
        if self.gateway_api_key and len(self.gateway_api_key) < 16:
            raise ConfigError("GATEWAY_API_KEY", "must be at least 16 characters")
        if not 0 < self.gateway_port < 65536:
            raise ConfigError("GATEWAY_PORT", f"must be a TCP port (got {self.gateway_port})")
        require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
        require_url("MEDIA_STORE_URL", self.media_store_url, ("file", "s3"))
        if not 0 <= self.gateway_pool_size <= 200:
            raise ConfigError("GATEWAY_POOL_SIZE", "must be between 1 and 200 (0 = auto)")
        if self.gateway_rate_limit < 0 or self.gateway_rate_burst < 1:
            raise ConfigError("GATEWAY_RATE_LIMIT", "must be >= 0 with GATEWAY_RATE_BURST >= 1")
        if not 1 <= self.gateway_max_replays <= 20:
            raise ConfigError("GATEWAY_MAX_REPLAYS", "must be between 1 and 20")
        if not 60 <= self.gateway_session_ttl <= 30 * 86_400:
            raise ConfigError("GATEWAY_SESSION_TTL", "must be between 60 s and 30 days")
        if self.gateway_auth_fail_rate <= 0 or self.gateway_auth_fail_burst < 1:
            raise ConfigError("GATEWAY_AUTH_FAIL_RATE", "must be > 0 with GATEWAY_AUTH_FAIL_BURST >= 1")
        try:
            parse_networks(self.gateway_trusted_proxies)
        except ValueError as exc:
            raise ConfigError("GATEWAY_TRUSTED_PROXIES", f"not an address or network: {exc}") from None

    @property
    def pool_size(self) -> int:
        return self.gateway_pool_size or auto_pool_size()

    @property
    def trusted_proxies(self) -> Networks:
        return parse_networks(self.gateway_trusted_proxies)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.gateway_cors_origins.split(",") if o.strip()]
