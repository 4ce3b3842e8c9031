# Home Rental Platform — developer commands. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK  := requirements.lock
BACKUP_DIR ?= backups

.PHONY: run stop status logs etl test test-fast lint bench clean venv system lock backup restore

# The pinned, hashed lock first; then the project itself (anything a stale lock lacks comes in unpinned,
# and tests/test_lock.py fails until `make lock` is run).
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q --require-hashes -r $(LOCK)
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

lock: venv  ## rewrite requirements.lock (uv, hashes) after editing pyproject.toml's dependencies
	@$(PY) infra/docker/requirements.py compile $(VENV)/bin/uv

system: venv
	@$(PY) -m infra.system

run: system  ## start the whole suite in the background and print its URLs
	@$(PY) -m infra.stack up
	@$(PY) -m infra.operate mail-sink

stop:  ## stop everything `make run` started
	@if [ -x $(PY) ]; then $(PY) -m infra.stack down; else echo "nothing running"; fi

status: venv  ## every process of `make run`, its URL and its health
	@$(PY) -m infra.operate status

logs: venv  ## readable logs: `make logs`, `make logs NAME=gateway N=100`
	@$(PY) -m infra.operate logs $(NAME) -n $(or $(N),30)

etl: venv  ## run the ETL once against `make run`'s stack and write the report to .run/reports/ (FULL=1 reloads)
	@$(PY) -m infra.operate etl $(if $(FULL),--full)

test: venv  ## every test suite on a private stack (real servers)
	@$(PY) -m infra.system --browser
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/lint-imports
	@$(PY) -m deploy.k8s.validate  # kustomize overlays against the Kubernetes schemas, workflows by actionlint

backup: venv  ## dump the `make run` stack's users (PostgreSQL) and bookings (MariaDB) into $(BACKUP_DIR)/
	@$(PY) -m infra.backup backup --dir $(BACKUP_DIR)

restore: venv  ## load the newest dumps in $(BACKUP_DIR)/ into the `make run` stack (replaces its tables)
	@$(PY) -m infra.backup restore --dir $(BACKUP_DIR)

bench: system
	@$(PY) -m bench.run

clean:
	@if [ -x $(PY) ]; then $(PY) -m infra.stack clean; else rm -rf .run; fi
