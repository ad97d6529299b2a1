# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate seed worker clean chromium

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(INSTALLED)

install: $(INSTALLED)

migrate: install
	$(BIN)/alembic upgrade head

seed: migrate
	$(BIN)/python -m app seed-demo

run: seed
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --no-access-log --loop asyncio

worker: migrate
	$(BIN)/python -m app worker

# The browser tests (tests/browser/) drive Debian's Chromium and never skip for lack of it.
CHROMIUM_PATH ?= /usr/bin/chromium
chromium:
	@test -x "$(CHROMIUM_PATH)" || { \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "The browser tests need Chromium: run 'sudo apt-get install -y chromium' (or set CHROMIUM_PATH)" >&2; \
			exit 1; \
		fi; }

test: install chromium
	$(BIN)/pytest
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== the same suite on PostgreSQL =="; \
		TEST_DATABASE_URL="$$TEST_POSTGRES_URL" $(BIN)/pytest; \
	else \
		echo "PostgreSQL run skipped: set TEST_POSTGRES_URL=postgresql+asyncpg://user@host:5432/db to run it too"; \
	fi

clean:
	rm -rf $(VENV) shop.db shop.db-shm shop.db-wal .pytest_cache

# The load benchmark (README, "Benchmark"): on SQLite, and on PostgreSQL too
# when BENCH_POSTGRES_URL is set. Flags go in BENCH_ARGS, e.g. "--seconds 2".
.PHONY: bench
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
