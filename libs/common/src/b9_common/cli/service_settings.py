"""Settings of a service the CLI runs in-process (``b9 rebuild``): env + the running stack's URLs.

The service's own Settings class is loaded from the environment as the service would be,
except that an unset ``NATS_URL`` / ``DATABASE_URL`` falls back to the stack `b9 up` is
running (``<data dir>/stack.json``), and metrics are off unless ``METRICS_PORT`` says otherwise.
"""

from __future__ import annotations

import logging
import os

from b9_common.cli.settings import CliSettings, effective_database_url, effective_nats_url
from b9_common.ops.logs import setup_logging


def service_env(cli: CliSettings) -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("NATS_URL"):
        env["NATS_URL"] = effective_nats_url(cli)
    db = effective_database_url(cli)
    if db and not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = db
    if not env.get("METRICS_PORT"):
        env["METRICS_PORT"] = "-1"
    return env


def quiet_logging(cli: CliSettings) -> None:
    """JSON log lines on stderr at WARNING or above (so they do not drown the progress bar)."""
    level = max(logging.WARNING, logging.getLevelNamesMapping().get(cli.log_level.upper(), logging.INFO))
    if not logging.getLogger().handlers:
        setup_logging("b9", logging.getLevelName(level))
