# Portal: tests/e2e/test_portal_browser.py drives Debian's Chromium (never a downloaded
# browser). `make test` installs it when it is missing and it runs as root. Without root it
# says what to install and goes on: the browser tests then skip with that reason (and only
# they); as root, a Chromium that is still missing fails them.

.PHONY: portal-browser

CHROMIUM ?= /usr/bin/chromium
AS_ROOT ?= $(shell test "$$(id -u)" = 0 && echo yes)

portal-browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$(AS_ROOT)" = yes ]; then \
	    $(APT_LOCKED) 'apt-get update -qq && apt-get install -y -qq chromium'; \
	  else \
	    echo "make test: Chromium ($(CHROMIUM)) is missing and installing it needs root."; \
	    echo "  Install it with: sudo apt-get install -y chromium   (Debian/Ubuntu)"; \
	    echo "  This run skips the portal browser tests (tests/e2e/test_portal_browser.py);"; \
	    echo "  everything else runs."; \
	  fi; }

TEST_PREREQS += portal-browser
