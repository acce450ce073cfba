# Two commands: `make demo` and `make test`. Both set up everything from a bare Python 3.11+.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup migrate bench lint worker beat clean-db

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

bench: migrate
	$(PY) manage.py bench_settlement $(BENCH_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(PY) manage.py makemigrations --check --dry-run

worker: setup
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A config beat --loglevel=INFO
