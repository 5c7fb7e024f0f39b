# Azure: Bicep checks (run by `make test`), build, deploy and teardown. docs/azure-deploy.md.
#
# There is no Bicep compiler here, and checkov silently passes a file it cannot parse, so the
# check is two steps: every .bicep must parse with pycep (checkov's own parser, from the
# checkov virtualenv that mk/aws.mk builds), then checkov must report 0 failures.

AZ_IAC_DIR := iac/azure
AZ_CHECKOV_VENV := .venv-checkov

.PHONY: azure-iac-check azure-src deploy-azure destroy-azure

azure-iac-check: $(AZ_CHECKOV_VENV)/.installed
	$(AZ_CHECKOV_VENV)/bin/python $(AZ_IAC_DIR)/parse_check.py $(AZ_IAC_DIR)
	$(AZ_CHECKOV_VENV)/bin/checkov -d $(AZ_IAC_DIR) --framework bicep --skip-download --quiet --compact

TEST_CHECKS += azure-iac-check
# tests/functional/azure/test_bicep.py runs the parse gate with pycep from this virtualenv:
# it must exist before pytest starts.
TEST_PREREQS += $(AZ_CHECKOV_VENV)/.installed

# --- build and deploy (needs `az login`, Node for the portal upload; never run by the tests) --

AZ_STAGE ?= dev
AZ_LOCATION ?= eastus2
AZ_RG ?= tollway-$(AZ_STAGE)
AZ_DEPLOYMENT ?= tollway-$(AZ_STAGE)
# Extra Bicep parameters, e.g. AZ_PARAMS="gatewayAlwaysReady=1 portalLocation=eastus2"
AZ_PARAMS ?=
SWA_CLI_VERSION ?= 2.0.10
AZ_BUILD := build/azure
AZ_APPS := gateway management worker
AZ_PKGS_gateway := azure-functions azure-data-tables azure-storage-queue azure-identity pyjwt[crypto] cryptography
AZ_PKGS_worker := $(AZ_PKGS_gateway)
AZ_PKGS_management := $(AZ_PKGS_gateway) fastapi fastapi-offline pydantic email-validator argon2-cffi
AZ_HELPER := $(BIN)/python $(AZ_IAC_DIR)/deploy.py
AZ_OUT = $(AZ_HELPER) output $(AZ_RG) $(AZ_DEPLOYMENT)

# One package per app: shared/ + functions/ + the app's function_app.py and host.json at the
# root + requirements pinned to the versions in .venv (installed by the remote build).
azure-src: $(STAMP)
	@for app in $(AZ_APPS); do \
	  test -f functions/azure/$$app/function_app.py -a -f functions/azure/$$app/host.json || \
	    { echo "functions/azure/$$app/{function_app.py,host.json} missing"; exit 1; }; \
	done
	rm -rf $(AZ_BUILD)/gateway $(AZ_BUILD)/management $(AZ_BUILD)/worker $(AZ_BUILD)/*.zip
	@set -e; for app in $(AZ_APPS); do \
	  dir=$(AZ_BUILD)/$$app; mkdir -p $$dir; \
	  cp -R shared functions $$dir/; \
	  cp functions/azure/$$app/function_app.py functions/azure/$$app/host.json $$dir/; \
	  find $$dir -name __pycache__ -prune -exec rm -rf {} +; \
	done
	$(AZ_HELPER) requirements $(AZ_BUILD)/gateway/requirements.txt $(foreach p,$(AZ_PKGS_gateway),'$(p)')
	$(AZ_HELPER) requirements $(AZ_BUILD)/management/requirements.txt $(foreach p,$(AZ_PKGS_management),'$(p)')
	$(AZ_HELPER) requirements $(AZ_BUILD)/worker/requirements.txt $(foreach p,$(AZ_PKGS_worker),'$(p)')
	@set -e; for app in $(AZ_APPS); do \
	  (cd $(AZ_BUILD)/$$app && $(CURDIR)/$(BIN)/python -m zipfile -c ../$$app.zip \
	    function_app.py host.json requirements.txt shared functions); \
	  echo "  $(AZ_BUILD)/$$app.zip"; \
	done

deploy-azure: azure-iac-check azure-src
	az group create -n $(AZ_RG) -l $(AZ_LOCATION) --tags app=tollway stage=$(AZ_STAGE) -o none
	$(AZ_HELPER) recover-vault $(AZ_RG)
	$(AZ_HELPER) secret-params $(AZ_RG) $(AZ_BUILD)/secrets.parameters.json
	az deployment group create -g $(AZ_RG) -n $(AZ_DEPLOYMENT) -f $(AZ_IAC_DIR)/main.bicep \
	  -p @$(AZ_IAC_DIR)/main.parameters.json -p @$(AZ_BUILD)/secrets.parameters.json \
	  -p stage=$(AZ_STAGE) $(AZ_PARAMS) -o none; \
	  rc=$$?; rm -f $(AZ_BUILD)/secrets.parameters.json; exit $$rc
	@set -e; for app in $(AZ_APPS); do \
	  name=$$($(AZ_OUT) $${app}AppName); \
	  echo "deploying $(AZ_BUILD)/$$app.zip to $$name"; \
	  az functionapp deployment source config-zip -g $(AZ_RG) -n $$name \
	    --src $(AZ_BUILD)/$$app.zip --build-remote true -o none; \
	done
	$(AZ_HELPER) portal $(AZ_RG) $(AZ_DEPLOYMENT) $(AZ_BUILD)/portal
	@set -e; swa=$$($(AZ_OUT) portalName); \
	  SWA_CLI_DEPLOYMENT_TOKEN=$$(az staticwebapp secrets list -n $$swa -g $(AZ_RG) \
	    --query properties.apiKey -o tsv) \
	  npx --yes --package @azure/static-web-apps-cli@$(SWA_CLI_VERSION) \
	    swa deploy $(AZ_BUILD)/portal --env production
	$(AZ_HELPER) outputs $(AZ_RG) $(AZ_DEPLOYMENT)

# Deletes the resource group: the table, the queues and the usage data go with it. az asks
# for confirmation unless YES=1. The Key Vault is only soft-deleted: purge protection keeps
# its name reserved for 90 days (deploy-azure into the same group recovers it).
destroy-azure:
	az group delete -n $(AZ_RG) $(if $(YES),--yes)
	@echo "Key Vault of $(AZ_RG) is soft-deleted (purge protection: kept 90 days, name reserved)."
