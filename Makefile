# `make check` is what CI runs (through the README's test command): lint, types, layering, tests.
# `make fast` is the inner loop: lint, types, layering and the tests not marked slow, browser or spark.
PY ?= python

.PHONY: check fast lint types layers test test-fast bench demo

check: lint types layers test

fast: lint types layers test-fast

lint:
	$(PY) -m ruff check analytics dashboards eqm tests benchmarks

types:
	$(PY) -m mypy

layers:
	lint-imports

test:
	$(PY) -m pytest -q

test-fast:
	$(PY) -m pytest -q -m "not slow and not browser and not spark"

demo:
	eqm demo

bench:
	$(PY) benchmarks/run_all.py
