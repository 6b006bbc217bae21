# SPDX-License-Identifier: GPL-3.0-or-later
"""The one coordinates parser and the one UPRN rule (``spatial_core.io.locations``)."""
from __future__ import annotations

import numpy as np
import pytest

from spatial_core.errors import InputError
from spatial_core.geo.crs import GB_GRID_BOUNDS, bng_to_lnglat, in_gb_grid, lnglat_to_bng
from spatial_core.io.locations import parse_points, parse_uprns, uprn_values
from spatial_core.io.sources import read_csv_table

BNG = [("e", "n", 27700)]
WGS = [("lng", "lat", 4326)]
BOTH = [("e", "n", 27700), ("lng", "lat", 4326)]


def table(tmp_path, text: str):
    path = tmp_path / "points.csv"
    path.write_text(text)
    t = read_csv_table(path)
    t.require({}, {"e": (), "n": (), "lng": (), "lat": (), "uprn": ()})
    return t


def test_bng_eastings_and_northings_give_the_same_point_in_degrees(tmp_path):
    t = table(tmp_path, "e,n\n429796,433794\n,\n0,0\n")
    lng, lat, x, y = parse_points(t, BNG)
    assert x[0] == 429796 and y[0] == 433794
    want_lng, want_lat = bng_to_lnglat([429796.0], [433794.0])
    assert (lng[0], lat[0]) == (want_lng[0], want_lat[0])
    assert np.isnan([lng[1:], lat[1:], x[1:], y[1:]]).all()  # empty and 0,0: no location


def test_wgs84_degrees_give_the_same_point_in_metres(tmp_path):
    t = table(tmp_path, "lng,lat\n-1.5491,53.7996\n-1.5,53.8\n")
    lng, lat, x, y = parse_points(t, WGS)
    assert lng.tolist() == [-1.5491, -1.5] and lat.tolist() == [53.7996, 53.8]
    want_x, want_y = lnglat_to_bng([-1.5491, -1.5], [53.7996, 53.8])
    assert np.array_equal(x, want_x) and np.array_equal(y, want_y)
    assert round(float(x[0])) == 429796 and round(float(y[0])) == 433794


def test_an_explicit_crs_overrides_the_default_of_the_first_pair(tmp_path):
    t = table(tmp_path, "lng,lat\n429796,433794\n")
    lng, lat, x, y = parse_points(t, WGS, crs=27700)
    assert (x[0], y[0]) == (429796, 433794)
    assert (round(float(lng[0]), 4), round(float(lat[0]), 4)) == (-1.5491, 53.7996)


def test_grid_references_win_and_degrees_fill_the_gaps(tmp_path):
    t = table(tmp_path, "e,n,lng,lat\n429796,433794,-1.0,52.0\n,,-1.5491,53.7996\n,,,\n")
    lng, lat, x, y = parse_points(t, BOTH)
    assert (x[0], y[0]) == (429796, 433794)  # not the degrees of the same row
    assert (round(float(x[1])), round(float(y[1]))) == (429796, 433794)
    assert np.isnan(x[2]) and np.isnan(lat[2])


@pytest.mark.parametrize("text, pairs, row, column, fragment", [
    ("lng,lat\n-1.5,53.8\n53.8,-1.5\n", WGS, 3, "lat", "look swapped"),
    ("lng,lat\n429796,433794\n", WGS, 2, "lng", "pass --crs 27700"),
    ("e,n\n-1.5491,53.7996\n", BNG, 2, "e", "pass --crs 4326"),
    ("e,n\n429796,433794\n9430000,433000\n", BNG, 3, "e", "not in Great Britain"),
    ("lng,lat\n-1.5,53.8\n-70.0,40.7\n", WGS, 3, "lng", "not in Great Britain"),
    ("lng,lat\n-1.5,95.5\n", WGS, 2, "lat", "a latitude in degrees between -90 and 90"),
    ("lng,lat\n-1.5,\n", WGS, 2, "lat", "expected both coordinates or neither"),
    ("e,n\n42x796,433794\n", BNG, 2, "e", "expected an easting in metres"),
    ("e\n429796\n", BNG, 1, None, "needs a 'n' column too"),
])
def test_bad_coordinates_are_errors_naming_row_and_column(tmp_path, text, pairs, row, column,
                                                          fragment):
    t = table(tmp_path, text)
    with pytest.raises(InputError, match=fragment) as err:
        parse_points(t, pairs)
    assert (err.value.file, err.value.row, err.value.column) == (t.file, row, column)


def test_zero_zero_is_an_error_when_it_is_not_no_location(tmp_path):
    t = table(tmp_path, "e,n\n429796,433794\n0,0\n")
    with pytest.raises(InputError, match="not in Great Britain") as err:
        parse_points(t, BNG, zero_is_missing=False)
    assert err.value.row == 3


def test_a_filling_pair_is_range_checked_everywhere_and_placed_only_where_used(tmp_path):
    swapped_unused = table(tmp_path, "e,n,lng,lat\n429796,433794,53.8,-1.5\n")
    assert parse_points(swapped_unused, BOTH)[2][0] == 429796
    metres_unused = table(tmp_path, "e,n,lng,lat\n429796,433794,429796,433794\n")
    with pytest.raises(InputError, match="latitude in degrees between -90 and 90"):
        parse_points(metres_unused, BOTH)


def test_the_gb_bounds_hold_great_britain_and_nothing_far_off():
    lands_end, lerwick, dover = (-5.7149, 50.0657), (-1.1450, 60.1546), (1.3134, 51.1279)
    lng, lat = zip(lands_end, lerwick, dover, strict=True)
    x, y = lnglat_to_bng(lng, lat)
    assert in_gb_grid(x, y).all()
    x0, y0, x1, y1 = GB_GRID_BOUNDS
    assert not in_gb_grid([x0 - 1, x1 + 1, 1000, np.nan, 0], [y0 + 1, y1 - 1, y1 + 1, 5, 0]).any()


def test_one_uprn_rule():
    uprns, bad = uprn_values(["100050432123", "0012", "77.0", " 5 ", "", None, "0",
                              "1234567890123", "1.00023E+11", "A-9"])
    assert uprns.tolist() == ["100050432123", "12", "77", "5", None, None, None, None, None,
                              None]
    assert bad.tolist() == [False] * 6 + [True] * 4


@pytest.mark.parametrize("text, required, row, fragment", [
    ("uprn\n12\n12A4\n", False, 3, "expected a UPRN: 1 to 12 digits, not zero"),
    ("uprn\n1.00023E+11\n", False, 2, "scientific notation"),
    ("uprn\n12\n\n", True, None, None),  # a blank line is no row
    ("uprn,e\n12,1\n,2\n", True, 3, "expected a UPRN; it is empty"),
])
def test_parse_uprns_errors_name_the_row(tmp_path, text, required, row, fragment):
    t = table(tmp_path, text)
    if fragment is None:
        assert parse_uprns(t, required=required).tolist() == ["12"]
        return
    with pytest.raises(InputError, match=fragment) as err:
        parse_uprns(t, required=required)
    assert (err.value.row, err.value.column) == (row, "uprn")


def test_parse_uprns_without_the_column_is_all_none(tmp_path):
    assert parse_uprns(table(tmp_path, "e,n\n1,2\n")).tolist() == [None]
