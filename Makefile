# medcyber: `make run` serves the demo, `make test` runs the whole suite. Both set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export MEDCYBER_HOME ?= $(CURDIR)/.medcyber

.PHONY: run test install install-test sysdeps browser lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m medcyber.web.static_assets
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	$(BIN)/python -m medcyber.web.static_assets
	touch $@ $(VENV)/.installed

install: sysdeps $(VENV)/.installed

install-test: sysdeps browser $(VENV)/.installed-test

# Debian libraries WeasyPrint needs for PDF reports (present on most machines; installed when missing).
SYSDEPS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
sysdeps:
	@missing=$$(for p in $(SYSDEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Browser tests drive Debian's chromium with Playwright (Playwright's own browser download is not used).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian chromium and poppler-utils"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null; \
	fi

run: install
	$(BIN)/medcyber db init
	$(BIN)/medcyber demo load
	$(BIN)/medcyber serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install-test
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .medcyber .pytest_cache build src/*.egg-info
