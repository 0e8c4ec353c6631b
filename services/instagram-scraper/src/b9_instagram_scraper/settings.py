"""The service's settings, read once from the environment (see b9_common.settings)."""

from __future__ import annotations

from urllib.parse import urlsplit

from b9_common.settings import CommonSettings, ConfigError, require_url

DEFAULT_API_BASE = "https://instagram-looter2.p.rapidapi.com"


class Settings(CommonSettings, kw_only=True):
    # Provider (a RapidAPI "instagram-looter2" style API). No key -> "not_configured".
    instagram_api_base: str = DEFAULT_API_BASE
    instagram_api_key: str = ""
    # x-rapidapi-host header; defaults to the host of INSTAGRAM_API_BASE.
    instagram_api_host: str = ""
    instagram_timeout: float = 30.0
    # Optional: the approved creators and their review state are read from here (read only).
    database_url: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.instagram_api_key.strip())

    @property
    def api_host(self) -> str:
        return self.instagram_api_host or (urlsplit(self.instagram_api_base).hostname or "")

    def validate(self) -> None:
        super().validate()
        require_url("INSTAGRAM_API_BASE", self.instagram_api_base, ("http", "https"))
        if not self.instagram_timeout > 0:
            raise ConfigError("INSTAGRAM_TIMEOUT", f"must be > 0 (got {self.instagram_timeout})")
        if self.database_url:
            require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
