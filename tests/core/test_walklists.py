# SPDX-License-Identifier: GPL-3.0-or-later
"""Walk-list ordering along streets and suppression windows, on hand-built cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.errors import InputError
from spatial_core.targeting.walklists import (
    SuppressionWindows,
    order_along_streets,
    parse_moment,
    suppressed_until,
)

L_STREET = shapely.multilinestrings([[(0, 0), (100, 0), (100, 100)]])


def test_order_along_an_l_shaped_street_interleaves_both_sides():
    # (x, y) -> metres along: south side y<0, north side y>0, then both sides of the leg.
    points = {"a": (20, -5), "b": (60, 5), "c": (105, 10), "d": (95, 60), "e": (105, 90),
              "f": (40, -6), "g": (99, 1)}
    x = np.array([p[0] for p in points.values()], dtype=float)
    y = np.array([p[1] for p in points.values()], dtype=float)
    along, order = order_along_streets(np.array(["l"] * len(points), dtype=object), x, y,
                                       np.array(["l"], dtype=object), np.array([L_STREET]))
    assert along.tolist() == [20.0, 60.0, 110.0, 160.0, 190.0, 40.0, 99.0]
    ranked = [k for _o, k in sorted(zip(order.tolist(), points, strict=True))]
    assert ranked == ["a", "f", "b", "g", "c", "d", "e"]


def test_order_along_streets_numbers_each_street_from_one_and_puts_unknowns_last():
    streets = np.array(["s1", "s2"], dtype=object)
    geoms = np.array([shapely.linestrings([(0, 0), (100, 0)]),
                      shapely.multilinestrings([[(0, 50), (0, 0)], [(0, 50), (0, 100)]])])
    street_of = np.array(["s2", "s1", "s2", "s1", "zz", "s1"], dtype=object)
    x = np.array([1.0, 80.0, -1.0, 10.0, 5.0, np.nan])
    y = np.array([90.0, 1.0, 10.0, -1.0, 5.0, 0.0])
    along, order = order_along_streets(street_of, x, y, streets, geoms)
    # s2 is two touching parts (50 -> 0 and 50 -> 100) merged into one line 0 -> 100 or
    # 100 -> 0; either way the two doors are 80 m apart and numbered 1 and 2.
    assert abs(along[0] - along[2]) == pytest.approx(80.0)
    assert sorted(order[[0, 2]].tolist()) == [1, 2]
    assert order[[3, 1, 5]].tolist() == [1, 2, 3]  # s1: 10 m, 80 m, no point last
    assert np.isnan(along[4]) and order[4] == 1  # an unknown street is its own list
    assert np.isnan(along[5])


@pytest.mark.parametrize("visit, now, held_until", [
    (("2026-11-19T10:00:00", "spoke"), "2026-11-20T10:00:00", "2026-12-17T10:00:00"),
    (("2026-11-19T10:00:00", "registered"), "2026-12-17T10:00:01", None),
    (("2026-08-12T10:00:00", "declined"), "2026-11-20T10:00:00", None),  # 100 days, 90
    (("2026-09-01T10:00:00", "declined"), "2026-11-20T10:00:00", "2026-11-30T10:00:00"),
    (("2026-11-20T08:00:00", "not_in"), "2026-11-20T10:00:00", "2026-11-20T12:00:00"),
    (("2026-11-20T08:00:00", "not_in"), "2026-11-20T13:00:00", None),  # 5 hours later
    (("2026-11-20T08:00:00", "no_access"), "2026-11-20T13:00:00", "2026-12-18T08:00:00"),
    (("2026-11-21T08:00:00", "spoke"), "2026-11-20T13:00:00", None),  # after now: ignored
])
def test_suppressed_until_applies_the_window_of_each_outcome(visit, now, held_until):
    v = pd.DataFrame({"uprn": ["1"], "visited_at": [visit[0]], "outcome": [visit[1]]})
    got = suppressed_until(["1", "2"], v, now, SuppressionWindows(28, 90, 4))
    assert got.tolist() == [held_until, None]


def test_suppressed_until_takes_the_latest_ending_window():
    v = pd.DataFrame({"uprn": ["1", "1"], "outcome": ["declined", "not_in"],
                      "visited_at": ["2026-11-01T10:00:00", "2026-11-20T09:00:00"]})
    got = suppressed_until(["1"], v, "2026-11-20T10:00:00", SuppressionWindows(28, 90, 4))
    assert got.tolist() == ["2027-01-30T10:00:00"]


def test_parse_moment_converts_zoned_times_to_uk_local():
    assert str(parse_moment("2026-07-01T09:00:00+00:00")) == "2026-07-01 10:00:00"  # BST
    assert str(parse_moment("2026-01-01T09:00:00Z")) == "2026-01-01 09:00:00"
    with pytest.raises(InputError, match="ISO date-time"):
        parse_moment("next tuesday")


@pytest.mark.parametrize("field", ["visited_days", "declined_days", "not_in_hours"])
def test_suppression_windows_refuse_negative_values(field):
    with pytest.raises(InputError, match=f"{field} must be a number >= 0"):
        SuppressionWindows(**{field: -1})
