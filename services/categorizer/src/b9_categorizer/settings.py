"""Categorizer settings (read once from the environment)."""

from __future__ import annotations

import msgspec
from b9_common.settings import CommonSettings, ConfigError, require_url

# USD per 1M tokens (input, output). The first two are the original's figures: it costed
# gpt-5-mini at $1.25 / $10 and gemini-2.5-flash at $0.30 / $2.50. OPENAI_PRICES overrides
# or extends this table with JSON: {"model": [input_per_1m, output_per_1m], ...}.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-5-mini-2025-08-07": (1.25, 10.0),
    "gemini-2.5-flash": (0.30, 2.50),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
}


class Settings(CommonSettings, kw_only=True):
    # Empty key: the offline rule-based classifier tags everything.
    openai_api_key: str = ""
    openai_model: str = "gpt-5-mini-2025-08-07"
    openai_base_url: str = ""
    # A vision-capable model for creator images; empty: creators are tagged from text.
    openai_vision_model: str = ""
    openai_prices: str = ""
    # Subreddits per chat completion, requests in flight, client retries on 429/5xx.
    openai_batch_size: int = 10
    openai_concurrency: int = 4
    openai_max_retries: int = 5
    openai_timeout: float = 60.0
    openai_max_completion_tokens: int = 2000
    # Extra requests for items whose answer was malformed or missing, before DLQ.
    openai_answer_retries: int = 2
    taxonomy_path: str = ""
    # Work-queue batch sizes of the two consumers.
    categorizer_batch: int = 256
    # Processes a replay runs in (the replica + REPLAY_WORKERS - 1 worker subprocesses pulling
    # from the replay's consumer, b9_common.replay.crew); 0: one per core; 1: the replica alone.
    replay_workers: int = 0

    def validate(self) -> None:
        super().validate()
        if self.openai_base_url:
            require_url("OPENAI_BASE_URL", self.openai_base_url, ("http", "https"))
        for var, value, lo in (
            ("OPENAI_BATCH_SIZE", self.openai_batch_size, 1),
            ("OPENAI_CONCURRENCY", self.openai_concurrency, 1),
            ("OPENAI_MAX_RETRIES", self.openai_max_retries, 0),
            ("OPENAI_ANSWER_RETRIES", self.openai_answer_retries, 0),
            ("CATEGORIZER_BATCH", self.categorizer_batch, 1),
            ("REPLAY_WORKERS", self.replay_workers, 0),
        ):
            if value < lo:
                raise ConfigError(var, f"must be >= {lo} (got {value})")
        self.price_table()

    def price_table(self) -> dict[str, tuple[float, float]]:
        table = dict(DEFAULT_PRICES)
        if not self.openai_prices:
            return table
        try:
            raw = msgspec.json.decode(self.openai_prices, type=dict[str, tuple[float, float]])
        except msgspec.DecodeError as exc:
            raise ConfigError(
                "OPENAI_PRICES", f'must be JSON {{"model": [in, out]}} per 1M tokens: {exc}'
            ) from None
        table.update(raw)
        return table
