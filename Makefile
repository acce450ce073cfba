# Two commands: `make demo` and `make test`. Both set up everything from a bare Python 3.11+.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test quick oracle setup migrate bench lint worker beat clean-db

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(PY) manage.py migrate --noinput

# Loads the demo data (idempotent), settles it, prints the summary, then serves the site
# at http://127.0.0.1:8000 until Ctrl-C (DEMO_NO_SERVE=1: exit after the summary).
demo: migrate
	$(PY) manage.py demo
	@if [ -z "$(DEMO_NO_SERVE)" ]; then $(PY) manage.py runserver 127.0.0.1:8000; fi

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# For iterating: the tests not marked slow (the simulations, the oracle, the fuzz are).
quick: setup
	$(PY) -m pytest -m "not slow" -q $(PYTEST_ARGS)

# The model-based oracle (tests/oracle): random days of loans through the real intake and run,
# compared with a per-loan model written from the domain brief. ORACLE_EXAMPLES=N for more.
oracle: setup
	$(PY) -m pytest tests/oracle -q -x $(PYTEST_ARGS)

# The day as production runs it: BENCH_WORKERS real Celery worker processes (default 2, one
# per core of the development machine) when a broker is there: CELERY_BROKER_URL, or else a
# Redis answering on 127.0.0.1:6379. Without a broker, or with BENCH_WORKERS=0, the chunks run
# eagerly in this process, one after another (the command's first line says which).
# The benchmarks log in as the owner (DATABASE_APP_ROLE empty): they wipe and VACUUM their
# platform's tables, which the application's role (lending_app) may not.
BENCH_WORKERS ?= 2
bench: export DATABASE_APP_ROLE =
bench: migrate
	@url="$$CELERY_BROKER_URL"; \
	if [ "$(BENCH_WORKERS)" = 0 ]; then url=""; \
	elif [ -z "$$url" ] && $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1)" 2>/dev/null; then \
	  url=redis://127.0.0.1:6379/0; fi; \
	if [ -n "$$url" ]; then \
	  echo "make bench: broker $${url%%://*}, $(BENCH_WORKERS) worker processes"; \
	  CELERY_BROKER_URL="$$url" $(PY) manage.py bench_settlement --workers $(BENCH_WORKERS) $(BENCH_ARGS); \
	else \
	  echo "make bench: no broker (or BENCH_WORKERS=0): chunks eagerly in-process"; \
	  env -u CELERY_BROKER_URL $(PY) manage.py bench_settlement $(BENCH_ARGS); \
	fi

# ruff, the import contracts of .importlinter (app and layer directions), mypy (pyproject.toml)
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run

# The README's PNGs (docs/screenshots/) from the current database: run `make demo` first.
# Needs Chromium, ChromeDriver and a CJK font: apt-get install chromium chromium-driver fonts-noto-cjk
.PHONY: screenshots
screenshots: setup
	$(PY) manage.py screenshots

worker: setup
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A config beat --loglevel=INFO
