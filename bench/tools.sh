#!/bin/sh
# Install wrk and nginx-light for the throughput section (Debian; root), without ever
# starting or enabling the nginx system service: the benchmark runs nginx as a plain
# process of its own. A policy-rc.d that forbids service starts is put in place for the
# install (an existing one is left as it is); where systemd runs, the unit is disabled.
set -u
if command -v wrk >/dev/null 2>&1 && [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk/nginx not installed (needs root and apt-get): the throughput section will be skipped"
  exit 0
fi
ours=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  ours=1
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light \
  || echo "wrk/nginx not installed: the throughput section will be skipped"
if [ -n "$ours" ]; then rm -f /usr/sbin/policy-rc.d; fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now nginx.service >/dev/null 2>&1 || true
elif command -v update-rc.d >/dev/null 2>&1 && [ -e /etc/init.d/nginx ]; then
  update-rc.d nginx disable >/dev/null 2>&1 || true
fi
exit 0
