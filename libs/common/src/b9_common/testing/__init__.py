"""Fakes next to the runtime, for fast handler tests without NATS or PostgreSQL.

``FakePublisher`` captures envelopes (same interface as ``Publisher``), ``FakeKV`` stands in
for a KV bucket, and ``run_handler`` / ``run_batch`` run a handler on events and return what
the consumer runtime would do with each message (ack, skip, nak with a delay, DLQ with the
reason), using the runtime's own mapping. See ``tests/unit`` for examples.
"""

from b9_common.testing.fakes import FakeKV, FakePublisher, Sent
from b9_common.testing.runner import Outcome, Raw, Run, delivery, run_batch, run_handler, settle

__all__ = ["FakeKV", "FakePublisher", "Outcome", "Raw", "Run", "Sent", "delivery", "run_batch", "run_handler",
           "settle"]
