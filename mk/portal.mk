# Portal: tests/e2e/test_portal_browser.py drives Debian's Chromium (never a downloaded
# browser). `make test` installs it when it is missing; without it the test fails, not skips.

.PHONY: portal-browser

portal-browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

TEST_PREREQS += portal-browser
