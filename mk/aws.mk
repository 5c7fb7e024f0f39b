# AWS: template checks (run by `make test`), build, deploy and teardown. docs/aws.md.
#
# checkov and SAM each live in their own virtualenv (their pins clash with each other and with
# the project's); a stamp per venv makes re-runs instant until the pins below change. cfn-lint
# is installed in SAM's (whose `validate --lint` runs it anyway: aws-sam-cli requires
# cfn-lint>=1.52,<1.59), pinned, so it is not installed twice; pip refuses the pair loudly if
# the pins ever stop fitting together. --no-compile: these tools run a few commands that import
# a fraction of what is installed; Python compiles that fraction on first use, not all of it.

CFNLINT_VERSION ?= 1.58.0
SAM_VERSION ?= 1.170.0
CHECKOV_VERSION ?= 3.3.30

AWS_TEMPLATE := template.yaml
CFNLINT := .venv-sam/bin/cfn-lint
SAM := .venv-sam/bin/sam
CHECKOV := .venv-checkov/bin/checkov

.PHONY: aws-iac-check aws-iac-tools aws-src deploy-aws destroy-aws cost

.venv-%/.installed: mk/aws.mk
	test -d .venv-$* || $(PY) -m venv .venv-$*
	.venv-$*/bin/pip install -q --disable-pip-version-check --no-compile $(PIP_SPEC_$*)
	touch $@

PIP_SPEC_sam := aws-sam-cli==$(SAM_VERSION) cfn-lint==$(CFNLINT_VERSION)
PIP_SPEC_checkov := checkov==$(CHECKOV_VERSION)

aws-iac-tools: .venv-sam/.installed .venv-checkov/.installed

aws-iac-check: aws-iac-tools
	$(CFNLINT) $(AWS_TEMPLATE)
	$(SAM) validate --lint --template $(AWS_TEMPLATE)
	$(CHECKOV) -f $(AWS_TEMPLATE) --framework cloudformation --skip-download --quiet --compact

TEST_CHECKS += aws-iac-check

# --- build and deploy (needs real AWS credentials; never run by the tests) ---------------

AWS_STAGE ?= dev
AWS_STACK ?= tollway-$(AWS_STAGE)
# e.g. AWS_PARAMS="EnableAuthorizer=true JwtIssuer=https://... JwtAudience=tollway"
AWS_PARAMS ?=
# Add --use-container when python3.12 is not on PATH.
SAM_BUILD_FLAGS ?=

# The Makefile exports dummy credentials for the tests; deploying must use yours.
AWS_REAL := $(if $(filter testing,$(AWS_ACCESS_KEY_ID)),env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY,env)

# Two code packages: the gateway functions get only what they import (botocore, no boto3,
# no FastAPI/pydantic), management the rest; dependencies installed for Lambda (arm64,
# 3.12) at the versions the tests ran with, botocore's models cut to the services called.
# Prints each package's size. iac/aws/package.py lists the packages.
# Bytecode is compiled in with Lambda's Python 3.12: pyenv's when there is one.
LAMBDA_PYTHON ?= $(lastword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12))
aws-src: $(STAMP)
	LAMBDA_PYTHON=$(LAMBDA_PYTHON) $(BIN)/python iac/aws/package.py

# Dollars per million requests, both clouds: AWS from template.yaml's settings, Azure from
# iac/azure/main.bicep's, each with the list prices cited in its script.
cost: $(STAMP)
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.cost --authorizer | tail -n +3
	@echo
	$(BIN)/python -m bench.cost_azure

deploy-aws: aws-iac-check aws-src
	$(AWS_REAL) $(SAM) build --template $(AWS_TEMPLATE) $(SAM_BUILD_FLAGS)
	$(AWS_REAL) $(SAM) deploy --stack-name $(AWS_STACK) --resolve-s3 \
	  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --no-fail-on-empty-changeset \
	  --parameter-overrides Stage=$(AWS_STAGE) $(AWS_PARAMS) $(if $(GUIDED),--guided)
	$(AWS_REAL) $(BIN)/python iac/aws/stack.py publish-portal $(AWS_STACK)
	$(AWS_REAL) $(BIN)/python iac/aws/stack.py outputs $(AWS_STACK)

# Keeps the table and its KMS key (DeletionPolicy: Retain); PURGE=1 deletes them too.
destroy-aws: aws-iac-tools
	$(AWS_REAL) $(BIN)/python iac/aws/stack.py save-outputs $(AWS_STACK)
	$(AWS_REAL) $(BIN)/python iac/aws/stack.py empty-portal $(AWS_STACK)
	$(AWS_REAL) $(SAM) delete --stack-name $(AWS_STACK) --no-prompts
	$(if $(PURGE),$(AWS_REAL) $(BIN)/python iac/aws/stack.py purge-data $(AWS_STACK))
