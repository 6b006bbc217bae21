#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job on the built-in demo force, set-up included; ends serving it (officer page).
# Extra arguments go to `lpt demo`, e.g. `bash scripts/demo.sh --households 20000`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/lpt demo --serve "$@"
