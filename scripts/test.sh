#!/usr/bin/env bash
# The whole suite: lint, types, then pytest against real NATS JetStream and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin
$V/python scripts/check_lock.py
$V/ruff check libs services tests bench
$V/mypy libs/*/src services/*/src
$V/python -m pytest "$@"
