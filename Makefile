# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make run    the bot on SQLite with the web chat at http://127.0.0.1:8080/
#   make test   the whole test suite (PostgreSQL tests too when THIDUA_TEST_DATABASE_URL is set)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate clean browser bench bench-full

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/thidua serve

migrate: $(STAMP)
	$(BIN)/thidua migrate

test: $(STAMP) browser
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

# Browser tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing: browser tests will be skipped (apt-get install chromium)"; fi; }

# Benchmarks (never part of `make test`): tables against the issue-7 targets, see
# docs/performance.md. `make bench` is the quick run (~3 min, 1,000 broadcast recipients);
# `make bench-full` uses the issue's sizes (20,000 recipients, 100,000 responses: ~35 min).
# PostgreSQL too with THIDUA_BENCH_DATABASE_URL=postgresql+asyncpg://... (wiped).
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

bench-full: $(STAMP)
	$(BIN)/python bench/run.py --full $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
