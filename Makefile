# Shudi: `make run` serves the sample district on http://127.0.0.1:8000; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SHUDI_HOME ?= $(CURDIR)/var

.PHONY: install sysdeps db run test check bench clean-db

install: sysdeps $(VENV)/.installed

sysdeps:
	@bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

# Start the embedded PostGIS (unless SHUDI_DATABASE_URL points elsewhere) and migrate.
db: install
	@if [[ -z "$$SHUDI_DATABASE_URL" ]]; then $(BIN)/shudi db start; fi
	$(BIN)/shudi db migrate

run: db
	$(BIN)/shudi demo
	$(BIN)/shudi serve

test: db
	$(BIN)/shudi demo
	$(BIN)/pytest -q -p no:cacheprovider

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shudi gis jurisdictions api webmap incidents benchmarks

bench: db
	$(BIN)/shudi demo
	$(BIN)/python -m benchmarks.run

clean-db:
	-$(BIN)/shudi db stop
	rm -rf $(SHUDI_HOME)/pg
