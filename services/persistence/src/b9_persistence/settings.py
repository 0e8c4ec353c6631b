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

    def validate(self) -> None:
        super().validate()
        require_url("DATABASE_URL", self.database_url, ("postgresql", "postgres"))
        if not 1 <= self.database_pool_size <= 100:
            raise ConfigError("DATABASE_POOL_SIZE",
                              f"must be 1..100 (got {self.database_pool_size})")
        if not 1 <= self.persistence_batch_size <= 10_000:
            raise ConfigError("PERSISTENCE_BATCH_SIZE",
                              f"must be 1..10000 (got {self.persistence_batch_size})")
        if not 1 <= self.persistence_batch_concurrency <= 16:
            raise ConfigError("PERSISTENCE_BATCH_CONCURRENCY",
                              f"must be 1..16 (got {self.persistence_batch_concurrency})")
