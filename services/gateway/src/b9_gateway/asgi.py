"""ASGI factory for running several worker processes:
``uvicorn --factory b9_gateway.asgi:create --workers 2`` (each worker connects on startup)."""

from __future__ import annotations

from b9_common.ops import tracing
from b9_common.settings import exit_on_config_error, load_settings
from fastapi import FastAPI

from b9_gateway import __version__
from b9_gateway.app import create_app
from b9_gateway.settings import Settings


def create() -> FastAPI:
    with exit_on_config_error("b9-gateway"):
        settings = load_settings(Settings)
    tracing.init("gateway", __version__, settings.otel_exporter_otlp_endpoint)
    return create_app(settings)
