# Revenda — the two commands a newcomer needs:
#   make run    set up, migrate, load demo data, start the web app + a Celery worker (Ctrl-C stops both)
#   make test   set up and run the whole test suite (SQLite; browser tests when /usr/bin/chromium exists)
# Everything lives in .venv; requirements are reinstalled only when they change (stamp files).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
CELERY := $(VENV)/bin/celery
PYBABEL := $(VENV)/bin/pybabel
HOST ?= 127.0.0.1
PORT ?= 5000
BIND ?= 0.0.0.0:8000
WORKERS ?= 4
# make run: gunicorn with one worker process and threads (the embedded SQLite has a single writer anyway).
RUN_WORKERS ?= 1
RUN_THREADS ?= 8
GUNICORN := $(VENV)/bin/gunicorn
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
CHROMIUM := /usr/bin/chromium
# Babel scans the project's own code only (the default ignores dot-folders such as .venv).
EXTRACT_IGNORE := --ignore-dirs='.* ._ tests bench migrations instance static node_modules'

.PHONY: help run test test-pg lint mutation translations compile-translations serve-prod worker beat clean

help:
	@echo "make run          web app (gunicorn) on http://$(HOST):$(PORT) + Celery worker with beat (demo data, SQLite)"
	@echo "make test         the whole test suite on SQLite (browser tests need $(CHROMIUM))"
	@echo "make test-pg      the suite on PostgreSQL (PG_TEST_URL=$(PG_TEST_URL))"
	@echo "make lint         ruff check and the import contracts (lint-imports, .importlinter)"
	@echo "make mutation     mutation score of the core rules, per file (slow; not in CI; FILES=billing/pricing.py)"
	@echo "make translations extract strings, update and compile the catalogs"
	@echo "make serve-prod   migrate, then gunicorn -w $(WORKERS) on $(BIND) (set DATABASE_URL, REDIS_URL, SECRET_KEY)"
	@echo "make worker/beat  the production Celery worker / beat scheduler (one beat per deployment)"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Revenda needs Python 3.11 or newer (found %s); try: make PYTHON=python3.12 ..." % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(RUN_STAMP)

# .mo files are build products (git-ignored): compiled from the committed .po catalogs.
compile-translations: | $(PY)
	@$(PYBABEL) -q compile -d translations

translations: $(RUN_STAMP)
	$(PYBABEL) -q extract -F babel.cfg -k _l -k lazy_gettext $(EXTRACT_IGNORE) --sort-by-file \
		--project=Revenda --copyright-holder=Revenda -o translations/messages.pot .
	$(PYBABEL) -q update -i translations/messages.pot -d translations
	@$(MAKE) --no-print-directory compile-translations
	@echo "Catalogs updated: translate the empty/fuzzy entries in translations/*/LC_MESSAGES/messages.po"

# Web app (gunicorn with threads, as in production) and worker in one command. The trap stops both on Ctrl-C
# (or when either one dies);
# background jobs of a non-interactive shell ignore SIGINT, hence the explicit kill.
run: $(RUN_STAMP) compile-translations
	@set -e; \
	export PUBLIC_URL="$${PUBLIC_URL:-http://$(HOST):$(PORT)}"; \
	echo "==> Migrating the database"; \
	$(FLASK) db upgrade; \
	echo "==> Loading demo data"; \
	logins="$$($(FLASK) demo)"; \
	echo "$$logins"; \
	instance="$${REVENDA_INSTANCE:-instance}"; mkdir -p "$$instance"; \
	stop() { trap - INT TERM EXIT; echo; echo "==> Stopping the web app and the worker"; kill $$web $$worker 2>/dev/null || true; wait 2>/dev/null || true; }; \
	trap 'stop; exit 0' INT TERM; trap stop EXIT; \
	$(CELERY) -A worker worker -B --pool=solo --loglevel=INFO --schedule="$$instance/celerybeat-schedule" & worker=$$!; \
	$(GUNICORN) -w $(RUN_WORKERS) --threads $(RUN_THREADS) -b $(HOST):$(PORT) --access-logfile - 'wsgi:app' & web=$$!; \
	for _ in $$(seq 1 150); do \
		$(PY) -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "http://$(HOST):$(PORT)/healthz" 2>/dev/null && break; \
		kill -0 $$web 2>/dev/null || { echo "The web app did not start (see above)."; exit 1; }; \
		sleep 0.2; \
	done; \
	echo; echo "$$logins"; \
	echo; echo "==> Revenda is running on http://$(HOST):$(PORT)/login (web app + Celery worker with beat). Ctrl-C stops both."; \
	set +e; wait -n $$web $$worker; exit $$?

test: $(DEV_STAMP) compile-translations
	@if [ -x $(CHROMIUM) ]; then \
		TEST_DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS); \
	else \
		echo "NOTE: $(CHROMIUM) not found: skipping the browser tests (apt-get install chromium to run them)."; \
		TEST_DATABASE_URL= $(PY) -m pytest -m "not browser" $(PYTEST_ARGS); \
	fi

test-pg: $(DEV_STAMP) compile-translations
	TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Mutation testing of the files listed in tools/mutation.py (minutes per file; not part of CI).
mutation: $(DEV_STAMP) compile-translations
	$(PY) tools/mutation.py $(FILES)

# Production: DATABASE_URL=postgresql+psycopg://…, REDIS_URL=redis://…, SECRET_KEY, REVENDA_PRODUCTION=1.
serve-prod: $(RUN_STAMP) compile-translations
	$(FLASK) db upgrade
	$(VENV)/bin/gunicorn -w $(WORKERS) -b $(BIND) --access-logfile - 'wsgi:app'

worker: $(RUN_STAMP) compile-translations
	$(CELERY) -A worker worker --loglevel=INFO

beat: $(RUN_STAMP)
	$(CELERY) -A worker beat --loglevel=INFO --schedule="$${REVENDA_INSTANCE:-instance}/celerybeat-schedule"

clean:
	rm -rf $(VENV) translations/*/LC_MESSAGES/*.mo
