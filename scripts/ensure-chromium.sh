#!/usr/bin/env bash
# The HTML report's browser test renders report.html in Debian's chromium. A fresh machine (CI
# runs as root) does not have it: install it from the Debian registry, once. Never a browser
# download of playwright's own (none is reachable), so playwright-core drives this binary.
set -euo pipefail
CHROMIUM="${SYNFARM_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
# Two test runs at once must not race apt's lock.
exec 9>/tmp/synfarm-chromium-install.lock
flock 9
if [ -x "$CHROMIUM" ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo -n"; fi
echo "installing chromium (Debian package) for the HTML report test" >&2
log="$(mktemp)"
if ! { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "could not install chromium with apt-get (log above)" >&2
  exit 1
fi
rm -f "$log"
[ -x "$CHROMIUM" ] || { echo "chromium was installed but $CHROMIUM is missing" >&2; exit 1; }
