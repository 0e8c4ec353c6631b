"""Persistence settings, read once from the environment."""

from __future__ import annotations

from b9_common.settings import CommonSettings, ConfigError, require_url


class Settings(CommonSettings, kw_only=True):
    database_url: str
    # asyncpg pool size (each in-flight batch holds one connection).
    database_pool_size: int = 4
    # Deliveries per batch handed to the writers.
    persistence_batch_size: int = 512
    # Batches written at the same time per consumer.
    persistence_batch_concurrency: int = 2
    # The viral posts snapshot (b9_persistence.viral_refresh): seconds between refreshes (0: off),
    # and the 'Ok' subreddits from which one is kept (fewer: the gateway's live queries are cheap).
    viral_refresh_s: float = 900.0
    viral_snapshot_min_subreddits: int = 2000

    def validate(self) -> None:
        super().validate()
        require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
        if not 1 <= self.database_pool_size <= 100:
            raise ConfigError("DATABASE_POOL_SIZE",
                              f"must be 1..100 (got {self.database_pool_size})")
        if not 1 <= self.persistence_batch_size <= 10_000:
            raise ConfigError("PERSISTENCE_BATCH_SIZE",
                              f"must be 1..10000 (got {self.persistence_batch_size})")
        if self.viral_refresh_s < 0:
            raise ConfigError("VIRAL_REFRESH_S", f"must be >= 0 (got {self.viral_refresh_s})")
        if not 1 <= self.persistence_batch_concurrency <= 16:
            raise ConfigError("PERSISTENCE_BATCH_CONCURRENCY",
                              f"must be 1..16 (got {self.persistence_batch_concurrency})")
