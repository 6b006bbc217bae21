# SPDX-License-Identifier: GPL-3.0-or-later
# Every target first runs scripts/setup.sh (idempotent: seconds when nothing changed).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
BENCH_OUT ?= out/benchmarks

.PHONY: help setup demo test bench lint

help:
	@echo "make demo   build the demo force into a store and run the main job"
	@echo "make test   run all tests (core, doctests, geoservice, QGIS plugin)"
	@echo "make bench  run benchmarks/bench_*.py, JSON results in $(BENCH_OUT)/"
	@echo "make lint   ruff and mypy on spatial_core"
	@echo "make setup  install Debian packages, .venv and Python packages"

setup:
	@bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh $(PYTEST_ARGS)

bench: setup
	@mkdir -p $(BENCH_OUT)
	@set -e; for b in benchmarks/bench_*.py; do \
		name=$$(basename $$b .py); \
		echo "== $$b"; \
		$(PY) $$b --json $(BENCH_OUT)/$$name.json; \
	done

lint: setup
	$(VENV)/bin/ruff check spatial_core
	$(VENV)/bin/mypy spatial_core
