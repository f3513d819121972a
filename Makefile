# Accord: `make run` and `make test` are all a newcomer needs.
#   make run     create .venv, install, load the demo into ./var/accord.db, serve on :8000
#   make test    the whole suite (SQLite, and PostgreSQL when reachable)
#   make lint    ruff check, ruff format --check, mypy, import contracts
#   make bench   the journal benchmarks (figures for the README)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_ENTRIES ?= 100000

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "Accord needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1). Try: make PYTHON=python3.12 $(MAKECMDGOALS)"; \
	  exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/accord serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports --config .importlinter

bench: $(STAMP)
	$(BIN)/accord bench journal --entries $(BENCH_ENTRIES)
	$(BIN)/accord bench verify --entries $(BENCH_ENTRIES)

# Never var/: it holds the database and the signing keys (rm -rf var for a fresh demo).
clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
