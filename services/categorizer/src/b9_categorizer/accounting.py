"""Token and cost accounting per model, from the price table in the settings.

A request's usage (as reported by the server) is split over the items it answered:
integer tokens are divided with the remainder going to the first items, so the per-item
figures of the published results add up exactly to the usage reported. Usage of a request
that answered nothing (malformed content) is carried to the next attempt of the same items;
if they never get an answer it is counted as ``unattributed``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class ModelUsage:
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    unattributed_tokens_in: int = 0
    unattributed_tokens_out: int = 0


@dataclass
class Pricing:
    table: dict[str, tuple[float, float]]
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    _warned: set[str] = field(default_factory=set)

    def price(self, model: str) -> tuple[float, float]:
        """Exact model name, else the longest table key the model name starts with."""
        if model in self.table:
            return self.table[model]
        keys = [k for k in self.table if model.startswith(k)]
        if keys:
            return self.table[max(keys, key=len)]
        if model not in self._warned:
            self._warned.add(model)
            log.warning("no price for model %s: costs count as 0 (set OPENAI_PRICES)", model)
        return (0.0, 0.0)

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        pin, pout = self.price(model)
        return (tokens_in * pin + tokens_out * pout) / 1_000_000

    def record(self, model: str, tokens_in: int, tokens_out: int) -> None:
        u = self.usage.setdefault(model, ModelUsage())
        u.requests += 1
        u.tokens_in += tokens_in
        u.tokens_out += tokens_out
        u.cost_usd += self.cost(model, tokens_in, tokens_out)

    def unattributed(self, model: str, tokens_in: int, tokens_out: int) -> None:
        u = self.usage.setdefault(model, ModelUsage())
        u.unattributed_tokens_in += tokens_in
        u.unattributed_tokens_out += tokens_out

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {
            m: {
                "requests": u.requests,
                "tokens_in": u.tokens_in,
                "tokens_out": u.tokens_out,
                "cost_usd": round(u.cost_usd, 6),
                "unattributed_tokens": u.unattributed_tokens_in + u.unattributed_tokens_out,
            }
            for m, u in self.usage.items()
        }


def split(total: int, n: int) -> list[int]:
    """``total`` as ``n`` integers that add up to it (the first ones take the remainder)."""
    if n <= 0:
        return []
    base, rem = divmod(total, n)
    return [base + (1 if i < rem else 0) for i in range(n)]
