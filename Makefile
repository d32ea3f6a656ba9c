# OrderReport: `make run` serves a demo on SQLite, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/orderreport
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0
export PORT

.PHONY: run test install messages lint typecheck test-postgres test-sqlite services lock bench clean

# The virtual environment and the front-end packages (exact versions in package.json, no
# lock file with download addresses), rebuilt when either list changes.
$(VENV)/.installed: requirements.lock pyproject.toml package.json
	npm install --silent
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

install: $(VENV)/.installed messages

# Translations are compiled here, never committed (Babel: no GNU gettext needed).
messages: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d orderreport/locale -D django

run: install
	$(BIN)/orderreport run

test: install services
	./scripts/ensure-chromium.sh
	$(MAKE) lint typecheck
	$(MAKE) test-postgres
	$(MAKE) test-sqlite

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy orderreport

# The whole suite on PostgreSQL and Redis (pytest-django creates the test database).
test-postgres: install
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(BIN)/pytest $(PYTEST_ARGS)

# The default path: SQLite (a file, as `make run` uses: the batch writer's thread and the
# live server's threads need their own connections) and the local-memory cache.
test-sqlite: install
	mkdir -p var
	DATABASE_URL= REDIS_URL= TEST_DATABASE_NAME=$(CURDIR)/var/test.sqlite3 $(BIN)/pytest -m "not postgres" $(PYTEST_ARGS)

services:
	./scripts/services.sh

# Re-resolve dependencies from pyproject.toml into requirements.lock (names and versions only).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q -e '.[dev]'
	.lockvenv/bin/pip freeze --exclude-editable > requirements.lock
	rm -rf .lockvenv

# The ingest benchmark (benchmarks/README.md). wrk comes from Debian's packages: installed here
# when missing (needs root; the package lists are refreshed only if the install fails).
bench: install services
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" != 0 ]; then echo "wrk is missing: apt-get install -y wrk (as root)"; exit 1; fi; \
	  apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; }
	$(BIN)/python benchmarks/ingest.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
