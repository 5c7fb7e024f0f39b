# Azure Table Storage emulator for the store contract suite: Azurite from npm, pinned in
# package.json / package-lock.json (tests/contract/backends/azure_tables.py starts it).
# `npm ci` installs exactly the lock file into node_modules/ (git-ignored); the stamp makes
# re-runs instant until the lock file changes. Without it the azure-tables tests fail.

NODE_STAMP := node_modules/.installed

.PHONY: azurite

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

azurite: $(NODE_STAMP)

TEST_PREREQS += azurite
