# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
PORT ?= 8501
VENV := .venv
BIN := $(VENV)/bin
# Stamps: pip runs again only when what it installs from changed (a fresh clone, an edited requirements file).
INSTALLED := $(VENV)/.installed
INSTALLED_DEV := $(VENV)/.installed-dev

.PHONY: run test test-fast lint install install-dev bench stop

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## The pinned runtime, then the project itself (editable): the page, the CLI and the scan subprocess import it alike.
install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install-dev: $(INSTALLED_DEV)

$(INSTALLED_DEV): requirements-dev.txt $(INSTALLED)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

## Install (when needed) and start the dashboard on the embedded defaults (embedded Redis under .data/, demo
## market) on http://localhost:$(PORT): `PORT=8502 make run`.
run: install
	scripts/run.sh --server.port $(PORT)

## Install the test dependencies and run the whole suite (browser tests need Debian's chromium).
test: install-dev
	$(BIN)/python -m pytest

## The unit tests alone (no real Redis server, no page, no browser): under a minute.
test-fast: install-dev
	$(BIN)/python -m pytest -m unit -q -n 2

lint: install-dev
	$(BIN)/ruff check .

## Print the benchmark figures (not part of the test run).
bench: install-dev
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

## Stop the embedded Redis server (refused while a scan holds the lock).
stop:
	$(BIN)/python -m scanner server stop
