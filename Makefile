# Thesmios launch operations portal.
#   make run    set up, load the demo data (only what is missing: data and passwords are kept
#               across restarts) and serve on 127.0.0.1:$(PORT) (SQLite, DEBUG on)
#   make demo-reset   wipe the local database and load the demo data afresh (every password: demo)
#   make test   set up and run the tests (in parallel, browser tests included; .ci/run adds the slow drills)
#   make lint / make typecheck / make migrations-check   the checks CI runs too
#   make requirements   recompile requirements*.txt (pinned, with hashes) from requirements*.in
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SIZE ?= 1000

.PHONY: run demo-reset test lint typecheck migrations-check bench backup-drill ci clean requirements

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
	DEBUG=1 $(PY) manage.py refresh_readiness --all
	DEBUG=1 $(PY) manage.py seed_demo
	@test -f .packet-key.pem || (umask 077 && $(PY) -c "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey as K; from cryptography.hazmat.primitives import serialization as s; print(K.generate().private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode(), end='')" > .packet-key.pem && echo "  Wrote a demo launch-packet signing key to .packet-key.pem")
	@echo ""
	@echo "  Thesmios launch operations portal: http://127.0.0.1:$(PORT)/"
	@echo "  Staff (admin at /admin/): operator, commercial, finance, security, support"
	@echo "  Buyers (launch room):     buyer-northwind, buyer-contoso, finance-contoso, buyer-globex, buyer-initech"
	@echo "  Every demo password is: demo (kept across restarts; make demo-reset starts afresh)"
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

demo-reset: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py flush --noinput
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --reset-passwords


# One worker per core (pytest-xdist), tests handed out one by one as workers free up; the
# browser tests (xdist_group "browser") go to one worker together, first: a browser test mostly
# waits for Chromium, which takes about a core of its own.
# UPDATE_QUERY_COUNTS=1 make test rewrites tests/query_counts.json (see tests/query_counts.py).
# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE): without
# it every worker and every subprocess the tests start compiles and assertion-rewrites every
# module again, about five seconds a process. Tests marked slow (long drills in fresh processes)
# run in .ci/run only. --reuse-db keeps each worker's migrated SQLite test database (in /dev/shm,
# named for the migrations and the pinned packages: tests/testenv.py) from one run to the next.
test: $(VENV)/.installed node_modules/.installed
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest -n auto --dist loadgroup --reuse-db -m "not slow"

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
	rm -rf $(VENV) node_modules db.sqlite3 staticfiles var/test-db
