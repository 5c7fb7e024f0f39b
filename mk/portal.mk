# Portal: tests/e2e/test_portal_browser.py drives Debian's Chromium (never a downloaded
# browser). `make test` installs it when it is missing; without it the test fails, not skips.
# The test also loads axe-core from node_modules: the repository's one `npm ci` (NODE_STAMP,
# mk/azure.mk) installs it with Azurite, from package.json / package-lock.json.

.PHONY: portal-browser

portal-browser: $(NODE_STAMP)
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

TEST_PREREQS += portal-browser
