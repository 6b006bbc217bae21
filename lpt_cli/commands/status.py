# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt status``."""
from __future__ import annotations

from lpt_cli.commands._common import open_from_args, print_json


def _status(args) -> int:
    from spatial_core.store.status import store_status

    with open_from_args(args, create=False) as store:
        status = store_status(store)
    if args.json:
        print_json(status)
        return 0
    print(f"store {status['store']} ({status['backend']}, schema v{status['schema_version']}, "
          f"H3 resolution {status['h3_resolution']})")
    for name, n in status["counts"].items():
        rng = status["date_ranges"].get(name)
        extra = f"  {rng['from']} .. {rng['to']}" if rng else ""
        print(f"  {name:<16}{n:>10,}{extra}")
    if status["areas_by_level"]:
        levels = ", ".join(f"{k} {v:,}" for k, v in sorted(status["areas_by_level"].items()))
        print(f"  areas by level: {levels}")
    if status["classification_schemes"]:
        schemes = ", ".join(f"{k} {v:,}" for k, v in status["classification_schemes"].items())
        print(f"  classification keys: {schemes}")
    if status["counts"]["crimes"]:
        print(f"  crimes without location: {status['crimes_without_location']:,}; "
              f"flagged outside the force: {status['crimes_flagged_outside_force']:,}")
    return 0


def register(sub) -> None:
    st = sub.add_parser("status", help="what the store holds")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=_status)
