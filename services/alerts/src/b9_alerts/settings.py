"""Alerts settings (read once from the environment)."""

from __future__ import annotations

from b9_common.net.webhook_url import parse_hosts
from b9_common.settings import CommonSettings, ConfigError, require_url


class Settings(CommonSettings, kw_only=True):  # type: ignore[call-arg, unused-ignore]
    # Rules are read from the read model (read-only) and kept current from alert_rule.* events.
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # Hosts a webhook may reach although loopback/private (or over plain http): "host,*.domain".
    alert_webhook_allowed_hosts: str = ""
    # HMAC-SHA256 key of the X-B9-Signature header; empty: deliveries are sent unsigned (warned once).
    alert_webhook_secret: str = ""
    # A delivery is retried (jittered exponential backoff) for this long, then marked failed.
    alert_webhook_retry_seconds: float = 300.0
    alert_webhook_timeout: float = 10.0
    alert_webhook_concurrency: int = 32
    # Links in webhook bodies point here (the gateway's dashboard).
    alert_dashboard_url: str = "http://127.0.0.1:8000/"
    # Seconds between full reloads of the rules (events bring changes at once; this is the safety net).
    alerts_rules_refresh: float = 30.0
    alerts_batch: int = 512
    # Seconds before an unacknowledged event is handed out again (after a crash); webhook deliveries
    # add their retry time and timeout to it, so a delivery still retrying is never sent twice.
    alerts_ack_wait: float = 30.0
    # Seconds between evaluations of the insight rules (subreddit.rising, creator.flagged); 0 = never.
    alerts_insights_interval: float = 600.0

    def validate(self) -> None:
        super().validate()
        require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
        require_url("ALERT_DASHBOARD_URL", self.alert_dashboard_url, ("http", "https"))
        if not 0 < self.alert_webhook_retry_seconds <= 86_400:
            raise ConfigError("ALERT_WEBHOOK_RETRY_SECONDS", "must be seconds in (0, 86400]")
        if not 0 < self.alert_webhook_timeout <= 300:
            raise ConfigError("ALERT_WEBHOOK_TIMEOUT", "must be seconds in (0, 300]")
        if not 1 <= self.alert_webhook_concurrency <= 1000:
            raise ConfigError("ALERT_WEBHOOK_CONCURRENCY", "must be 1..1000")
        if not 1 <= self.alerts_batch <= 10_000:
            raise ConfigError("ALERTS_BATCH", "must be 1..10000")
        if not 1 <= self.alerts_ack_wait <= 3600:
            raise ConfigError("ALERTS_ACK_WAIT", "must be seconds in [1, 3600]")
        if self.alerts_rules_refresh <= 0:
            raise ConfigError("ALERTS_RULES_REFRESH", "must be > 0 seconds")

    def allowed_hosts(self) -> tuple[str, ...]:
        return parse_hosts(self.alert_webhook_allowed_hosts)
