#!/usr/bin/env bash
# The whole suite: lint, types, then pytest against real NATS JetStream and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
V=.venv/bin
$V/python scripts/check_lock.py
$V/ruff check libs services tests bench
$V/mypy libs/*/src services/*/src
# Two workers, a test file per worker at a time (module fixtures stay whole): most of the suite
# waits on real servers and subprocesses, so two workers on two cores halve the wall time.
# B9_TEST_WORKERS=0 runs it in one process.
$V/python -m pytest -n "${B9_TEST_WORKERS:-2}" --dist loadfile "$@"
