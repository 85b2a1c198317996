# Majakka: `make run` serves the knowledge base; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
KB := $(BIN)/kb
STAMP := $(VENV)/.installed
SOURCES_DIR ?= ../shared/sources

.PHONY: run test bench eval setup system-deps model ingest serve clean

run: setup ingest serve

setup: system-deps $(STAMP) model

# Debian packages: Voikko for Finnish analysis. Installed when missing (as root, as CI runs).
system-deps:
	@if ! dpkg -s libvoikko1 voikko-fi >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libvoikko1 voikko-fi; \
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

test: setup
	$(BIN)/python -m pytest -q

eval: ingest
	$(KB) eval

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data reports test-artifacts
