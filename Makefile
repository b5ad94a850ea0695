# Thesmios launch operations portal.
#   make run    set up, load the demo data and serve on 127.0.0.1:$(PORT) (SQLite, DEBUG on)
#   make test   set up and run the tests
#   make lint / make typecheck / make migrations-check   the checks CI runs too
#   make requirements   recompile requirements*.txt (pinned, with hashes) from requirements*.in
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SIZE ?= 1000

.PHONY: run test lint typecheck migrations-check bench backup-drill ci clean requirements

# requirements-dev.txt holds every package, runtime and dev, pinned with hashes (pip itself too).
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

# Pinned npm packages (axe-core), for the browser tests to come.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Recompile the pinned, hashed requirements from the .in files (runtime first: the dev
# file is constrained to it). The flags keep this machine's local pip indexes out of the files.
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
requirements: $(VENV)/.installed
	$(PIP_COMPILE) --output-file=requirements.txt requirements.in
	$(PIP_COMPILE) --output-file=requirements-dev.txt requirements-dev.in

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo ""
	@echo "  Thesmios launch operations portal: http://127.0.0.1:$(PORT)/"
	@echo "  Staff (admin at /admin/): operator, commercial, finance, security, support"
	@echo "  Buyers (launch room):     buyer-northwind, buyer-contoso, buyer-globex, buyer-initech"
	@echo "  Every demo password is: demo"
	@echo ""
	@echo "  Demo e-mail is written to var/mail/ (one file per message); the inbox is /notifications/"
	@echo ""
	@mkdir -p var/mail
	@# The web server, the background worker and the scheduler, stopped together by Ctrl-C.
	@trap 'kill 0' INT TERM EXIT; \
	export DEBUG=1 EMAIL_URL="filemail:///$(CURDIR)/var/mail" PORTAL_BASE_URL="http://127.0.0.1:$(PORT)"; \
	$(PY) manage.py db_worker --no-reload --interval 2 & \
	$(PY) manage.py run_scheduler & \
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed node_modules/.installed
	$(PY) -m pytest

typecheck: $(VENV)/.installed
	DEBUG=1 $(PY) -m mypy

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
	rm -rf $(VENV) node_modules db.sqlite3 staticfiles
