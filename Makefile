# Tollway — the two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# pytest-xdist workers: the suite is mostly waiting on emulators and subprocesses. loadgroup:
# a module with a module-scoped fixture (a local stack, Chromium) runs on one worker, whole
# (tests/conftest.py); every other test goes to whichever worker is free.
PYTEST_WORKERS ?= 2
# The slowest tests of each `make test` run, printed after the results: where the next cut is.
PYTEST_DURATIONS ?= 30
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAM_CLI_TELEMETRY := 0

# What `make test` adds, each area in its own mk/<area>.mk: TEST_PREREQS are what pytest
# needs (emulators, browsers, generators), TEST_CHECKS what it does not (the IaC linters).
TEST_PREREQS :=
TEST_CHECKS :=
# They run concurrently (see `test`): two of them may apt-get (npm, Chromium) and would fight
# over dpkg's lock, so each runs apt-get under this lock (flock is util-linux's, on every
# Debian/Ubuntu: the only systems where those apt-get lines run).
APT_LOCKED = flock /tmp/tollway-apt.lock sh -c

.PHONY: run test test-prereqs test-checks lint unit bench clean install

# `make run` installs what running needs; `make test` adds the test tools.
$(RUN_STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(RUN_STAMP)

# One install for both stamps: installing '.' and then '.[dev]' resolved and built twice.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(RUN_STAMP) $(STAMP)

install: $(STAMP)

include $(wildcard mk/*.mk)

run: $(RUN_STAMP)
	$(BIN)/tollway local $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check shared functions tests bench
	$(BIN)/mypy --strict shared functions

# `make test` in two steps, none of whose parts depend on one another:
# 1. what pytest needs (the venv, TEST_PREREQS), TEST_JOBS at a time, each target's output
#    printed whole when it ends;
# 2. pytest, while lint and TEST_CHECKS (the IaC checks and their virtualenvs, which pytest
#    does not need) run beside it; their output is kept in CHECKS_LOG and printed after
#    pytest's. make test fails when either fails.
TEST_JOBS ?= 4
CHECKS_LOG := test-artifacts/checks.log

test:
	@echo "make test: installing what the tests need, $(TEST_JOBS) at a time (each step's output when it ends)"
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-prereqs
	@echo "make test: pytest, with lint and the IaC checks beside it (their output after pytest's)"
	@mkdir -p $(dir $(CHECKS_LOG)); \
	  $(MAKE) --no-print-directory -j2 --output-sync=target test-checks >$(CHECKS_LOG) 2>&1 & checks=$$!; \
	  $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup \
	    --durations=$(PYTEST_DURATIONS) $(PYTEST_ARGS); tests=$$?; \
	  wait $$checks; checked=$$?; \
	  echo "--- lint and IaC checks (ran beside pytest; $(CHECKS_LOG)) ---"; cat $(CHECKS_LOG); \
	  if [ $$checked != 0 ]; then echo "make test: lint or an IaC check failed (above)"; fi; \
	  [ $$tests = 0 ] && [ $$checked = 0 ]

test-prereqs: $(STAMP) $(TEST_PREREQS)

test-checks: lint $(TEST_CHECKS)

unit: $(STAMP)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The throughput comparison needs wrk and nginx (Debian packages; root installs them,
# never starting or enabling the nginx service: bench runs its own nginx process).
bench: $(STAMP)
	@sh bench/tools.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-* .tollway .pytest_cache node_modules
