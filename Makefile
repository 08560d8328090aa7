# vaxnet — `make run` serves the demo, `make test` runs everything CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      ?= .venv
PY        := $(VENV)/bin/python
VAXNET    := $(VENV)/bin/vaxnet
STAMP     := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HOST      ?= 127.0.0.1
PORT      ?= 8000
COUNTRY   ?= IN
DEMO_FACILITIES ?= 500
DEMO_DAYS ?= 7
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/vaxnet
PYTEST_ARGS ?=
# Debian packages the project needs on the machine: Noto fonts (certificates),
# gettext (compiling translations), chromium (browser tests), poppler-utils (PDF checks),
# wrk (the load generator of bench/booking.py).
DEBS := fonts-noto-core gettext chromium poppler-utils wrk
LINT_ENV := VAXNET_COUNTRY=TEST SECRET_KEY=lint-only ALLOWED_HOSTS=lint VAXNET_ID_HASH_KEY=lint-only \
	VAXNET_PUBLIC_URL=https://lint.invalid

.PHONY: help install run test test-sqlite test-postgres lint format bench bench-booking bench-stock bench-vaccination bench-certificates bench-dashboard e2e messages clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.debs-checked: Makefile
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	fi
	@touch $@

PO_FILES := $(wildcard vaxnet/locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)
vaxnet/locale/%/LC_MESSAGES/django.mo: vaxnet/locale/%/LC_MESSAGES/django.po .debs-checked
	msgfmt --check -o $@ $<

install: $(STAMP) $(NODE_STAMP) .debs-checked $(MO_FILES) ## Install Python, npm and Debian packages; compile translations

run: install ## Set up the demo country and serve it on http://127.0.0.1:8000
	@mkdir -p var
	VAXNET_DEV=1 VAXNET_COUNTRY=$(COUNTRY) $(VAXNET) migrate --no-input -v0
	VAXNET_DEV=1 VAXNET_COUNTRY=$(COUNTRY) $(VAXNET) load-country $(COUNTRY)
	VAXNET_DEV=1 VAXNET_COUNTRY=$(COUNTRY) $(VAXNET) keys generate
	VAXNET_DEV=1 VAXNET_COUNTRY=$(COUNTRY) $(VAXNET) demo --facilities $(DEMO_FACILITIES) --days $(DEMO_DAYS) --if-empty
	VAXNET_DEV=1 VAXNET_COUNTRY=$(COUNTRY) $(VAXNET) runserver $(HOST):$(PORT)

test: install lint test-sqlite test-postgres ## Lint, then the whole suite on SQLite and on PostgreSQL

test-sqlite: install
	$(PY) -m pytest -n 2 -p xdist $(PYTEST_ARGS)

# With CI=true an unreachable PostgreSQL fails the run; elsewhere it is skipped with a warning.
test-postgres: install
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(POSTGRES_URL)'.rsplit('/',1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
	  DATABASE_URL=$(POSTGRES_URL) $(PY) -m pytest -n 2 -p xdist --create-db $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then echo "PostgreSQL at $(POSTGRES_URL) is unreachable: failing (CI=true)." >&2; exit 1; \
	else echo "WARNING: PostgreSQL at $(POSTGRES_URL) is unreachable; the PostgreSQL run was skipped." >&2; fi

e2e: install ## Only the browser tests
	$(PY) -m pytest -m e2e $(PYTEST_ARGS)

lint: $(STAMP) ## ruff, mypy and the migrations check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(LINT_ENV) $(VENV)/bin/mypy vaxnet tests bench
	$(LINT_ENV) $(VAXNET) makemigrations --check --dry-run

format: $(STAMP) ## Format and fix what ruff can
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

messages: $(STAMP) ## Extract translatable strings into the .po catalogues
	cd vaxnet && $(LINT_ENV) ../$(VAXNET) makemessages --no-obsolete --no-location -l hi -l ta -l sw

bench: install ## Benchmarks; each prints its figure and a ratio to a ceiling measured in the same run
	$(PY) bench/run.py

bench-booking: install ## Availability and booking against gunicorn, PostgreSQL and Redis (wrk)
	BENCH_POSTGRES=$(dir $(POSTGRES_URL)) $(PY) bench/booking.py

bench-stock: install ## Stock moves through the services against raw SQL, and a big store's balance
	BENCH_POSTGRES=$(dir $(POSTGRES_URL)) $(PY) bench/stock.py

bench-vaccination: install ## Doses recorded through the sync and single-dose APIs against gunicorn and PostgreSQL
	BENCH_POSTGRES=$(dir $(POSTGRES_URL)) $(PY) bench/vaccination.py

bench-certificates: install ## Certificate PDFs (kept and first renders) against gunicorn and PostgreSQL; signing rates
	BENCH_POSTGRES=$(dir $(POSTGRES_URL)) $(PY) bench/certificates.py

bench-dashboard: install ## 10 million dose records by COPY; rollups rebuild; dashboard API and page (wrk)
	BENCH_POSTGRES=$(dir $(POSTGRES_URL)) $(PY) bench/dashboard.py

clean: ## Remove the virtualenv, node packages and local data
	rm -rf $(VENV) node_modules var .debs-checked test-output
