# SPDX-License-Identifier: GPL-3.0-or-later
"""The real Leeds data end to end, the same on GeoPackage and PostGIS (issue 2, "Done means").

Wards, OAC 2011 output areas, Code-Point postcodes, central Leeds OSM streets and both West
Yorkshire months are imported through the public entry point, as `lpt import` does.
"""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from spatial_core import open_store
from spatial_core.io.imports import import_files
from spatial_core.store import schema

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def _load(store, real):
    leeds = real / "leeds"
    reports = {
        "wards": import_files(store, "boundaries", [leeds / "boundaries/leeds_wards_2017.geojson"],
                              level="ward", crs=27700),
        "oac": import_files(store, "classification",
                            [leeds / "geodemographics/leeds_oa_oac2011.geojson"],
                            scheme="oac2011", crs=27700),
        "postcodes": import_files(store, "postcodes",
                                  [leeds / "postcodes/codepoint_open_2014_ls.csv"]),
        "streets": import_files(store, "streets", [leeds / "streets/leeds_central_osm_2022.gpkg"]),
        "crimes": import_files(store, "crimes", [
            leeds / "crime/2016-07-west-yorkshire-street.csv",
            leeds / "crime/2017-07-west-yorkshire-street.csv"]),
    }
    return reports


def _summary(store) -> dict:
    """What must agree between back ends: counts, keys and derived values."""
    counts = store.fingerprint()
    streets = store.read("streets", ["street_id", "ward_id", "length_m"], order_by=["street_id"])
    crimes = store.read("crimes", ["crime_key", "cell", "is_outlier"], order_by=["crime_key"])
    with store.connect() as conn:
        sc = schema.street_cells
        cells = conn.execute(select(sc.c.street_id, sc.c.cell)
                             .order_by(sc.c.street_id, sc.c.cell)).fetchall()
    return {
        "counts": {k: v for k, v in counts.items() if k != "lpt_imports"},
        "street_ids": streets["street_id"].tolist(),
        "street_wards": streets["ward_id"].tolist(),
        "street_length_km": round(float(streets["length_m"].sum()) / 1000, 3),
        "crime_keys_hash": hash(tuple(crimes["crime_key"])),
        "crime_cells": int(crimes["cell"].astype("int64").sum() % 1_000_000_007),
        "outliers": int(crimes["is_outlier"].sum()),
        "street_cells": len(cells),
    }


@pytest.fixture(scope="module")
def leeds_gpkg(real, tmp_path_factory):
    store = open_store(tmp_path_factory.mktemp("leeds") / "leeds.gpkg")
    reports = _load(store, real)
    yield store, reports
    store.close()


def test_real_leeds_counts_equal_the_files(leeds_gpkg):
    store, reports = leeds_gpkg
    assert reports["wards"].imported == 33
    assert reports["oac"].imported == 2_543
    assert reports["postcodes"].imported == 21_290
    assert reports["crimes"].read == 27_176 + 28_537
    assert store.count("crimes") == 27_176 + 28_537
    t = schema.crimes
    asb = store.count("crimes", t.c.category == "Anti-social behaviour")
    assert asb == 7_429 + 5_955
    assert store.count("crimes", t.c.cell == 0) == 1_347 + 1_541


def test_every_located_leeds_crime_falls_inside_a_leeds_output_area(leeds_gpkg):
    store, _ = leeds_gpkg
    t = schema.crimes
    crimes = store.read("crimes", ["month", "lsoa_name", "x", "y"], where=t.c.cell != 0)
    leeds = crimes[crimes["lsoa_name"].fillna("").str.startswith("Leeds")]
    assert leeds.groupby("month").size().to_dict() == {"2016-07": 9_243, "2017-07": 9_671}
    oas = store.read("areas", ["code", "geom"], where=schema.areas.c.level == "oa")
    tree = shapely.STRtree(oas.geometry.values)
    pts = shapely.points(leeds["x"].to_numpy(), leeds["y"].to_numpy())
    hit, _ = tree.query(pts, predicate="intersects")
    assert len(np.unique(hit)) == len(leeds)


def test_oac_classes_attach_to_output_areas_and_postcodes_to_wards(leeds_gpkg):
    store, _ = leeds_gpkg
    c = schema.classifications
    classes = store.read("classifications", ["key", "l1"], where=(c.c.scheme == "oac2011")
                         & (c.c.key_type == "oa"))
    oas = store.read("areas", ["code"], where=schema.areas.c.level == "oa")
    assert set(classes["key"]) == set(oas["code"])
    assert classes["l1"].value_counts().to_dict()["6"] == 541  # Suburbanites
    pcs = store.read("postcodes", ["ward_code", "district_code"])
    wards = set(store.read("areas", ["code"], where=schema.areas.c.level == "ward")["code"])
    in_leeds = pcs[pcs["district_code"] == "E08000035"]
    assert len(in_leeds) == 19_069
    assert in_leeds["ward_code"].isin(wards).all()


def test_osm_streets_become_street_units_with_cells(leeds_gpkg):
    store, reports = leeds_gpkg
    streets = store.read("streets", ["street_id", "ward_id", "length_m", "name"])
    assert 1_000 < len(streets) < 4_241  # fewer units than named ways
    assert streets["ward_id"].notna().all()
    assert (streets["length_m"] > 0).all()
    with store.connect() as conn:
        with_cells = conn.execute(select(schema.street_cells.c.street_id).distinct()).fetchall()
    assert len(with_cells) == len(streets)


def test_real_leeds_same_results_on_geopackage_and_postgis(leeds_gpkg, real, postgis_url):
    gpkg, _ = leeds_gpkg
    pg = open_store(postgis_url)
    try:
        _load(pg, real)
        assert _summary(pg) == _summary(gpkg)
    finally:
        pg.close()
