# Tollway — the two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# pytest-xdist workers: the suite is mostly waiting on emulators and subprocesses.
PYTEST_WORKERS ?= 2
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAM_CLI_TELEMETRY := 0

# Extra checks that `make test` runs before pytest (IaC linters, browsers, emulators):
# each area adds its own in mk/<area>.mk.
TEST_PREREQS :=

.PHONY: run test lint unit bench clean install

# `make run` installs what running needs; `make test` adds the test tools.
$(RUN_STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

include $(wildcard mk/*.mk)

run: $(RUN_STAMP)
	$(BIN)/tollway local $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/mypy --strict shared functions

test: lint $(TEST_PREREQS)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The throughput comparison needs wrk and nginx (Debian packages; root installs them,
# never starting or enabling the nginx service: bench runs its own nginx process).
bench: $(STAMP)
	@sh bench/tools.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-* .tollway .pytest_cache node_modules
