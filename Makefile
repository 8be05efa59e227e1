# OneMap: `make run` serves the demo city, `make test` runs the whole suite.
# Both set everything up first: system packages (apt, when root), the venv, the embedded store.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: run test lint format bench-demo store-start store-stop db-url

run: $(STAMP)
	@bash .ci/system-packages.sh run
	$(PY) app.py

test: $(STAMP)
	@bash .ci/system-packages.sh test
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(PY) -m ruff format .

bench-demo: $(STAMP)
	$(PY) bench/demo_build.py --scale 1

store-start store-stop db-url: $(STAMP)
	$(PY) -m geodata $(subst store-,,$@)

# The venv is rebuilt only when requirements.txt changes.
$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
		echo "Cannot create a venv: apt-get install python3-venv" >&2; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)
