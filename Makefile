# Majakka: `make run` serves the knowledge base; `make test` runs the linters and the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
KB := $(BIN)/kb
STAMP := $(VENV)/.installed
SOURCES_DIR ?= ../shared/sources

.PHONY: run test lint bench loadtest eval setup system-deps browser-deps model ingest serve clean

run: setup ingest serve

setup: system-deps $(STAMP) model

# Debian packages: Voikko for Finnish analysis. Installed when missing (as root, as CI runs).
system-deps:
	@if ! dpkg -s libvoikko1 voikko-fi >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvoikko1 voikko-fi; \
	  else echo "Install the Debian packages libvoikko1 and voikko-fi (sudo apt-get install libvoikko1 voikko-fi)"; exit 1; fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

model: $(STAMP)
	$(KB) model install

ingest: setup
	$(KB) ingest

serve: setup
	$(KB) serve

test: lint setup browser-deps
	$(BIN)/python -m pytest -q

# ruff (style, imports, docstrings), mypy (strict) and import-linter (what may import what), as in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The browser tests drive Debian's Chromium through Playwright (never `playwright install`) and check with axe-core
# from npm. Chromium is installed when missing (as root, as CI runs); axe-core from package-lock.json.
CHROMIUM := /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js

browser-deps: $(AXE)
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Install Debian's chromium for the browser tests (sudo apt-get install chromium)"; exit 1; fi; \
	fi

$(AXE): package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
	  else echo "Install npm for the browser tests (sudo apt-get install npm)"; exit 1; fi; \
	fi
	npm ci --no-audit --no-fund
	touch $(AXE)

eval: ingest
	$(KB) eval

bench: setup loadtest
	$(KB) bench

# 10,000 requests at concurrency 32 over loopback HTTP, then 10,000 more while the index is rebuilt (CI sends 500 each).
loadtest: setup
	KB_LOAD_REQUESTS=10000 $(BIN)/python -m pytest -q tests/api/test_load.py

clean:
	rm -rf $(VENV) data reports test-artifacts node_modules
