# `make check` is what CI runs (through the README's test command): lint, types, layering, tests.
PY ?= python

.PHONY: check lint types layers test bench demo

check: lint types layers test

lint:
	$(PY) -m ruff check analytics dashboards eqm tests benchmarks

types:
	$(PY) -m mypy

layers:
	lint-imports

test:
	$(PY) -m pytest -q

demo:
	eqm demo

bench:
	$(PY) benchmarks/run_all.py
