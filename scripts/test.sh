#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole test suite, set-up included (Debian packages, .venv, Python and npm packages).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k crimes`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The layers (pyproject.toml [tool.importlinter]): a forbidden import fails the run.
.venv/bin/lint-imports
exec .venv/bin/python -m pytest tests spatial_core -q "$@"
