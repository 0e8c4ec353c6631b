# b9: the two commands are `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.install-stamp
PYPROJECTS := pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
MEMBERS := $(wildcard libs/*) $(wildcard services/*)
# Locked versions: uv.lock (uv's own) and constraints.txt (the same pins exported for pip).
LOCKS := uv.lock constraints.txt

.PHONY: run test unit install lint typecheck bench chaos clean lock

run: install
	@echo "==> starting b9 (b9 up): NATS, PostgreSQL and every service; the table comes when all are ready"
	$(VENV)/bin/b9 up

test: install
	@echo "==> testing: ruff, mypy, then pytest against real NATS and PostgreSQL (scripts/test.sh)"
	bash scripts/test.sh

# The fast tier: handlers and library seams through b9_common.testing, no NATS or PostgreSQL
# (tests/unit/conftest.py fails a test that reaches for one). `make test` runs these too.
# Without the hypothesis/schemathesis plugins (unused here, they are half of pytest's start-up).
unit: install
	@echo "==> unit tier: tests/unit without servers"
	$(PY) -m pytest tests/unit -q -p no:schemathesis -p no:hypothesispytest

install: $(STAMP)

# With uv on PATH: `uv sync --locked` (the versions in uv.lock). Otherwise: python3 -m venv + pip,
# editable installs of every member, pinned by constraints.txt (exported from uv.lock), so both
# paths install the same versions. Each step says what it does and the installers show their own
# progress (a first install downloads a few hundred MB and takes minutes; later runs skip this
# until a pyproject or a lock changes).
$(STAMP): $(PYPROJECTS) $(LOCKS)
	@if command -v uv >/dev/null 2>&1; then \
		echo "==> installing b9 and its test tools into $(VENV) with uv (uv sync --locked)"; \
		uv sync --locked --all-packages --group dev --python python3; \
	else \
		echo "==> [1/3] creating the virtual environment $(VENV) (python3 -m venv)"; \
		test -x $(PY) || python3 -m venv $(VENV); \
		echo "==> [2/3] upgrading pip"; \
		$(PY) -m pip install --upgrade pip; \
		echo "==> [3/3] installing b9's packages (editable) and the test tools with pip: first time takes minutes"; \
		$(PY) -m pip install -c constraints.txt $(foreach m,$(MEMBERS),-e $(m)) \
			$$($(PY) scripts/dev_deps.py); \
	fi
	@touch $(STAMP)
	@echo "==> installed"

# Re-resolve after changing a dependency: writes uv.lock and constraints.txt (uv comes with the dev
# tools). `make test` fails while either is stale (scripts/check_lock.py).
lock: install
	$(VENV)/bin/python scripts/check_lock.py --write

lint: install
	$(VENV)/bin/ruff check libs services tests bench

typecheck: install
	$(VENV)/bin/mypy libs/*/src services/*/src

# The gateway benchmark drives load with wrk (C, epoll): installed from Debian when missing.
bench: install
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) \
		|| echo "warning: could not install wrk; the gateway benchmark needs it (apt-get install wrk)"
	$(PY) bench/run_all.py

chaos: install
	rm -f test-artifacts/chaos_summary.txt; $(PY) -m pytest tests/chaos -m slow -q -o addopts="--strict-markers" --chaos-size=100000; \
	  status=$$?; cat test-artifacts/chaos_summary.txt 2>/dev/null; exit $$status

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
