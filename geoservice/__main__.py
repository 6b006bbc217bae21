# SPDX-License-Identifier: GPL-3.0-or-later
"""``python -m geoservice``: the service's commands (see :mod:`geoservice.cli`)."""
import sys

from geoservice.cli import main

sys.exit(main())
