# make run   -> install into .venv (first time only) and start the whole cockpit: `dashapp up`
# make test  -> install the test extras (and Chromium for browser tests) and run the whole suite
# make bench -> run the benchmark scripts in benchmarks/ (not part of `make test`)
# Installs are idempotent: they run again only when pyproject.toml changes (or .venv is gone).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --quiet
PYTEST_ARGS ?=

.PHONY: help run test bench browser

help:
	@echo "make run    install into $(VENV) and start everything (web, worker, beat) with 'dashapp up'"
	@echo "make test   install the test extras and Chromium, run the whole test suite"
	@echo "make bench  run the benchmark scripts (benchmarks/*.py)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	@echo "installing the cockpit into $(VENV) (quiet; the first time takes a few minutes) ..."
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	@echo "installing the test extras into $(VENV) ..."
	$(PIP) install -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(VENV)/bin/dashapp up

# Browser tests drive Debian's Chromium through chromedriver; install them when we can (root).
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium and chromium-driver for the browser tests ..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "warning: chromium/chromedriver missing and not root: browser tests will fail" \
		     "(as root: apt-get install chromium chromium-driver)" >&2; \
	fi

# Kernels are compiled into numba's on-disk cache once, before the suite, so that test processes
# and the worker pool children the tests start load them instead of compiling side by side.
test: $(VENV)/.installed-test browser
	$(VENV)/bin/dashapp warmup
	$(VENV)/bin/pytest --headless --webdriver Chrome -n 2 --dist loadfile $(PYTEST_ARGS) tests/

bench: $(VENV)/.installed-test
	@shopt -s nullglob; scripts=(benchmarks/[!_]*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmark scripts in benchmarks/ yet"; exit 0; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(PY) "$$script" || exit 1; done
