# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make run    the bot on SQLite with the web chat at http://127.0.0.1:8080/
#   make test   the whole test suite (PostgreSQL tests too when THIDUA_TEST_DATABASE_URL is set)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/thidua serve

migrate: $(STAMP)
	$(BIN)/thidua migrate

test: $(STAMP)
	$(BIN)/python -m pytest -ra $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
