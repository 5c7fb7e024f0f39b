# Generated clients: tests/functional/api/test_generated_client.py generates a Python client
# from the management API's OpenAPI document with openapi-python-client and calls the app
# in process through it. The generator lives in its own virtualenv (its pins of ruff, typer
# and friends are its own); the generated code needs only httpx, attrs and dateutil, which
# the test environment has. Without the stamp the test fails and says to run `make test`.

OPENAPI_CLIENT_VERSION ?= 0.29.1

.PHONY: openapi-client-tool

.venv-openapi/.installed: mk/clients.mk
	test -d .venv-openapi || $(PY) -m venv .venv-openapi
	.venv-openapi/bin/pip install -q --disable-pip-version-check --no-compile \
	  openapi-python-client==$(OPENAPI_CLIENT_VERSION)
	touch $@

openapi-client-tool: .venv-openapi/.installed

TEST_PREREQS += openapi-client-tool
