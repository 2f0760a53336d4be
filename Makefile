# Shudi: `make run` serves the sample district on http://127.0.0.1:8000; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export SHUDI_HOME ?= $(CURDIR)/var

.PHONY: install sysdeps assets db run test check bench reliability clean-db

install: sysdeps $(VENV)/.installed assets

sysdeps:
	@bash scripts/install-system-deps.sh
	@bash scripts/install-browser.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

# Leaflet, Folium's plugins, icons and fonts for the map pages (webmap/assets.json), from npm;
# quick when webmap/static/vendor is up to date.
assets: $(VENV)/.installed
	$(BIN)/python -m webmap.assets fetch

# Start the embedded PostGIS (unless SHUDI_DATABASE_URL points elsewhere) and migrate.
db: install
	@if [[ -z "$$SHUDI_DATABASE_URL" ]]; then $(BIN)/shudi db start; fi
	$(BIN)/shudi db migrate

run: db
	$(BIN)/shudi demo
	$(BIN)/shudi serve

# Two pytest-xdist workers, each with its own test databases; a module's tests stay on one worker,
# the slowest modules first (tests/conftest.py). TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= 2
test: db
	$(BIN)/shudi demo
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy shudi console abuse gis jurisdictions accounts incidents api webmap documents assessment meetings audit hotspots benchmarks reliability notify places ogc

bench: db
	$(BIN)/shudi demo
	$(BIN)/python -m benchmarks.run

# Fault, load and fuzz runs; figures into docs/reliability.md (each on a database of its own).
reliability: db
	$(BIN)/python -m reliability.run

clean-db:
	-$(BIN)/shudi db stop
	rm -rf $(SHUDI_HOME)/pg
