# Thesmios launch operations portal.
#   make run    set up, load the demo data and serve on 127.0.0.1:$(PORT) (SQLite, DEBUG on)
#   make test   set up and run the tests
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SIZE ?= 1000

.PHONY: run test lint migrations-check bench backup-drill ci clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo ""
	@echo "  Thesmios launch operations portal: http://127.0.0.1:$(PORT)/"
	@echo "  Staff (admin at /admin/): operator, commercial, finance, security, support"
	@echo "  Buyers (launch room):     buyer-northwind, buyer-contoso, buyer-globex, buyer-initech"
	@echo "  Every demo password is: demo"
	@echo ""
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

migrations-check: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

bench: $(VENV)/.installed
	$(PY) bench/run.py --size $(SIZE)

backup-drill: $(VENV)/.installed
	bash ops/backup_drill.sh

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
