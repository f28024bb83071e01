# Two commands on a fresh machine:
#   make demo   - environment, demo data, dbt build end to end on the embedded DuckDB
#   make test   - the whole test suite (lint, dbt build with tests, pytest)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export SEGMENTS_PROJECT_DIR := $(CURDIR)
export DBT_PROFILES_DIR := $(CURDIR)
export SEGMENTS_RAW_PATH ?= $(CURDIR)/data/raw
export SEGMENTS_DUCKDB_PATH ?= $(CURDIR)/data/segments.duckdb

DEMO_CUSTOMERS ?= 10000
DEMO_DAYS ?= 180
DEMO_SEED ?= 7
DEMO_DIRTY_RATE ?= 0.01

.PHONY: setup demo generate build docs freshness lint test clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

profiles.yml: profiles.example.yml
	@test -f profiles.yml || sed 's|__PROJECT_DIR__|$(CURDIR)|g' profiles.example.yml > profiles.yml

setup: $(STAMP) profiles.yml

generate: setup
	$(BIN)/python -m python_utils generate --customers $(DEMO_CUSTOMERS) --days $(DEMO_DAYS) \
		--seed $(DEMO_SEED) --dirty-rate $(DEMO_DIRTY_RATE) --out $(SEGMENTS_RAW_PATH)

build: setup
	$(BIN)/dbt build

demo: generate build
	@$(BIN)/python -m python_utils report --database $(SEGMENTS_DUCKDB_PATH)

docs: setup
	$(BIN)/dbt docs generate

freshness: setup
	$(BIN)/dbt source freshness

lint: setup
	$(BIN)/sqlfluff lint models analyses

test: setup
	$(BIN)/python -m pytest

clean:
	rm -rf target logs data/raw data/ground_truth data/*.duckdb*
