# Azure Table Storage emulator for the store contract suite: Azurite from npm, pinned in
# package.json / package-lock.json (tests/contract/backends/azure_tables.py starts it).
# `npm ci` installs exactly the lock file into node_modules/ (git-ignored); the stamp makes
# re-runs instant until the lock file changes. Without it the azure-tables tests fail.

NODE_STAMP := node_modules/.installed

.PHONY: azurite

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then $(APT_LOCKED) 'apt-get update -qq && apt-get install -y -qq nodejs npm'; \
	  else echo "make test: npm is missing and installing it needs root. Install Node.js 18+" \
	    "with npm (Debian/Ubuntu: sudo apt-get install -y nodejs npm), then run make test" \
	    "again: the Azure Tables tests need Azurite from npm."; exit 1; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

azurite: $(NODE_STAMP)

TEST_PREREQS += azurite
