"""Settings of the reddit-scraper, read once from the environment."""

from __future__ import annotations

import re

from b9_common.settings import CommonSettings, ConfigError, require_url

OAUTH_BASE = "https://oauth.reddit.com"
PUBLIC_BASE = "https://www.reddit.com"
DEFAULT_TOKEN_URL = "https://www.reddit.com/api/v1/access_token"

# User agents Reddit throttles as bot defaults (see fixtures RATE_LIMITS_AND_USER_AGENT.md §4).
_GENERIC_UA = re.compile(
    r"^(python-requests|python-urllib|python-httpx|aiohttp|python|curl|wget|httpx|requests|"
    r"go-http-client|java|okhttp|node-fetch|axios|mozilla/5\.0)\b",
    re.IGNORECASE,
)
MIN_UA_LENGTH = 7


class Settings(CommonSettings):  # all fields have defaults
    # Empty means: oauth.reddit.com with credentials, www.reddit.com without.
    reddit_api_base: str = ""
    reddit_client_id: str = ""
    reddit_client_secret: str = ""
    reddit_user_agent: str = ""
    # Empty means Reddit's token endpoint, or <REDDIT_API_BASE>/api/v1/access_token when the
    # base is overridden (tests, proxies).
    reddit_token_url: str = ""
    # Seconds allowed for one HTTP call (connect + read), and attempts on transient errors.
    reddit_timeout_seconds: float = 16.0
    reddit_max_attempts: int = 3
    reddit_retry_base_seconds: float = 0.5
    # How long to wait on a 429 that carries no retry-after, and the cap on any retry-after.
    reddit_429_default_wait: float = 10.0
    reddit_429_max_wait: float = 120.0
    # Top authors of an Ok subreddit whose profile + recent posts are fetched (2 calls each).
    reddit_authors_per_subreddit: int = 10
    # Discovered subreddits get their metadata fetched at once (3 calls each), as the original did.
    reddit_fetch_discovered: bool = True
    # Users fetched within this many seconds are not fetched again for discovery.
    reddit_user_cache_seconds: float = 86_400.0
    # Read-only PostgreSQL for the tracked list; empty -> only commands are served.
    database_url: str = ""

    def validate(self) -> None:
        super().validate()
        ua = self.reddit_user_agent.strip()
        if not ua:
            raise ConfigError("REDDIT_USER_AGENT", "is required: a descriptive user agent such as "
                              "'linux:b9-scraper:1.0 (by u/yourname)'")
        if len(ua) < MIN_UA_LENGTH or _GENERIC_UA.match(ua):
            raise ConfigError("REDDIT_USER_AGENT", f"{ua!r} is generic; use a descriptive one such "
                              "as 'linux:b9-scraper:1.0 (by u/yourname)'")
        if bool(self.reddit_client_id) != bool(self.reddit_client_secret):
            missing = "REDDIT_CLIENT_SECRET" if self.reddit_client_id else "REDDIT_CLIENT_ID"
            raise ConfigError(missing, "set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET together")
        if self.reddit_api_base:
            require_url("REDDIT_API_BASE", self.reddit_api_base, ("http", "https"))
        if self.reddit_token_url:
            require_url("REDDIT_TOKEN_URL", self.reddit_token_url, ("http", "https"))
        if self.database_url:
            require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
        if self.reddit_timeout_seconds <= 0:
            raise ConfigError("REDDIT_TIMEOUT_SECONDS", "must be > 0")
        if not 1 <= self.reddit_max_attempts <= 10:
            raise ConfigError("REDDIT_MAX_ATTEMPTS", "must be between 1 and 10")
        if not 0 <= self.reddit_authors_per_subreddit <= 100:
            raise ConfigError("REDDIT_AUTHORS_PER_SUBREDDIT", "must be between 0 and 100")

    @property
    def oauth(self) -> bool:
        return bool(self.reddit_client_id and self.reddit_client_secret)

    @property
    def api_base(self) -> str:
        base = self.reddit_api_base or (OAUTH_BASE if self.oauth else PUBLIC_BASE)
        return base.rstrip("/")

    @property
    def token_url(self) -> str:
        if self.reddit_token_url:
            return self.reddit_token_url
        if self.reddit_api_base:
            return f"{self.api_base}/api/v1/access_token"
        return DEFAULT_TOKEN_URL
