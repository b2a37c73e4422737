#!/usr/bin/env bash
# Installs the system packages crossbar's test suite uses: SIPp and baresip (real SIP
# peers), PostgreSQL (the storage tests run against it as well as SQLite), and espeak-ng
# and sox (scripts/prompts.sh speaks the example menus' prompts), and Chromium (the
# dashboard's test renders the page in it, headless).
# Debian/Ubuntu; needs root (or sudo). Installs only what is missing.
set -euo pipefail

packages=(sip-tester baresip postgresql ca-certificates espeak-ng sox chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all of ${packages[*]} are installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts a PostgreSQL cluster on install; the tests start their own throwaway one.
