#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Set up this checkout on Debian 12: system packages, the .venv, this package in editable
# mode with its dev, service and national extras, and (later) the geoservice's npm packages.
#
# Idempotent and quick when nothing changed: it only checks dpkg, the venv and a stamp
# holding the sha256 of pyproject.toml. Runs as root (CI) or through sudo.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=$ROOT/.venv
STAMP=$VENV/.lpt-pyproject.sha256

say() { printf 'setup: %s\n' "$*"; }

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi

# --- 1. Debian packages -------------------------------------------------------------------
# QGIS and its Python bindings come from Debian (QGIS is never a pip dependency); the tests
# start a real PostgreSQL with PostGIS; Xvfb and Chromium drive the plugin and browser tests;
# wrk is the service benchmark's load generator (benchmarks/bench_service.py).
APT_PACKAGES=(
    python3-venv
    python3-qgis
    qgis-providers
    qgis
    postgresql-15
    postgresql-15-postgis-3
    gdal-bin
    libsqlite3-mod-spatialite
    xvfb
    chromium
    chromium-driver
    fonts-liberation
    wrk
)
# Use the machine's node/npm when it has them (they may live in /usr/local); install
# Debian's only when there are none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    APT_PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "Debian packages installed"
else
    say "Debian packages: all ${#APT_PACKAGES[@]} present"
fi

# --- 2. virtual environment ---------------------------------------------------------------
# System site-packages, because Debian's QGIS bindings (and the numpy<2 they are built
# against) live there.
if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    if [ -e "$VENV" ]; then
        say "replacing unusable $VENV"
        rm -rf "$VENV"
    fi
    say "creating $VENV"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
else
    say "venv: $VENV"
fi

# --- 3. this package, editable, with the dev, service and national extras -----------------
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ] \
    || ! "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("local-priority-targeting")' \
        2>/dev/null; then
    say "pip install -e '.[dev,service,national]' (pyproject.toml changed or package missing)"
    log=$VENV/.lpt-pip.log
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[dev,service,national]' \
        >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        say "ERROR: pip install failed; full log in $log"
        exit 1
    fi
    printf '%s\n' "$want" >"$STAMP"
    say "python packages installed"
else
    say "python packages: up to date with pyproject.toml"
fi

# --- 4. HOOK: geoservice npm packages -----------------------------------------------------
# Folders whose package.json needs `npm ci`. Skipped while a folder has no package.json;
# re-run only when package-lock.json changes (stamp inside node_modules). Browsers are never
# downloaded: the tests use Debian's /usr/bin/chromium.
NPM_DIRS=(geoservice)
for dir in "${NPM_DIRS[@]}"; do
    [ -f "$dir/package.json" ] || continue
    lock=$dir/package-lock.json
    if [ ! -f "$lock" ]; then
        say "ERROR: $dir/package.json has no package-lock.json; run 'npm install' there and commit it"
        exit 1
    fi
    npm_stamp=$dir/node_modules/.lpt-lock.sha256
    want=$(sha256sum "$lock" | cut -d' ' -f1)
    if [ "$want" != "$(cat "$npm_stamp" 2>/dev/null || true)" ]; then
        say "npm ci in $dir"
        (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 \
            npm ci --no-audit --no-fund --loglevel=error)
        printf '%s\n' "$want" >"$npm_stamp"
    elif [ -f "$dir/vendor.js" ] && [ ! -f "$dir/static/vendor/versions.json" ]; then
        say "copying npm packages' browser files into $dir/static/vendor"
        (cd "$dir" && npm run --silent vendor)
    else
        say "npm packages in $dir: up to date"
    fi
done

say "ready"
