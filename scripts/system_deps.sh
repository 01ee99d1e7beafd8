#!/usr/bin/env bash
# Install the Debian packages the project needs that are missing (as root, or through sudo).
#   system_deps.sh run    what `make run` needs: python3 venv, npm (to vendor browser files),
#                         Noto CJK fonts (embedded in the venue posters' PDF)
#   system_deps.sh test   plus Chromium and its driver, PostgreSQL 15 + PostGIS
set -euo pipefail
missing=()
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
if [ "${1:-run}" = test ]; then
  for p in chromium chromium-driver postgresql-15 postgresql-15-postgis-3; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing system packages: ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
