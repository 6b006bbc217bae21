# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features Part 2 and the spatial part of Part 3 on every kind of collection: output
in WGS84 (default) and EPSG:27700 equals the stored geometry; ``bbox`` and ``INTERSECTS``
filters in either CRS select exactly the features whose geometry meets the box, computed
here from the store with shapely (SQL-backed collections: streets, areas, visits; in-memory
ones: street_scores, area_profiles)."""
from __future__ import annotations

import json
import urllib.parse

import geopandas as gpd
import numpy as np
import pytest
import shapely

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
PURPOSE = {"X-Purpose": "checking map layers"}
# collection -> (store table, id column, level filter for areas)
COLLECTIONS = {"streets": ("streets", "street_id"), "street_scores": ("streets", "street_id"),
               "areas": ("areas", "area_id"), "area_profiles": ("areas", "area_id"),
               "visits": ("visits", "visit_id")}


@pytest.fixture(scope="module")
def stored(service):
    """Each collection's stored geometries (EPSG:27700), by id."""
    from spatial_core import open_store

    s = open_store(service.store, create=False)
    try:
        out = {}
        for name, (table, id_col) in COLLECTIONS.items():
            cols = [id_col, "geom"] + (["level", "valid_from"] if table == "areas" else [])
            f = s.read(table, cols)
            if table == "areas":
                f = f[f["level"].isin(["force", "npa", "beat", "ward"]).to_numpy(dtype=bool)]
                f = f.sort_values("valid_from", na_position="first").drop_duplicates(
                    id_col, keep="last")
            out[name] = gpd.GeoDataFrame({"id": f[id_col].astype(str).to_numpy()},
                                         geometry=f.geometry.to_numpy(), crs=27700)
    finally:
        s.close()
    return out


def _get(service, collection: str, query: dict) -> dict:
    q = urllib.parse.urlencode({"f": "json", "limit": 10000, **query})
    status, _, body = service.get(f"/collections/{collection}/items?{q}",
                                  token=service.token("force_analyst"), headers=PURPOSE)
    assert status == 200, body[:500]
    return json.loads(body)


def _box(stored, collection: str) -> tuple[float, float, float, float]:
    """A box (EPSG:27700) over the middle of the collection's features (quantiles of their
    centroids, so points clustered in one corner still fall in it): some features in, some
    out, some crossing its edges."""
    c = stored[collection].geometry.centroid
    (x0, x1), (y0, y1) = c.x.quantile([0.3, 0.6]), c.y.quantile([0.35, 0.65])
    return (x0, y0, x1, y1)


@pytest.mark.parametrize("collection", list(COLLECTIONS))
def test_output_in_27700_and_wgs84_is_the_stored_geometry(service, stored, collection):
    g = stored[collection].set_index("id")
    ids = list(g.index[:: max(1, len(g) // 25)])[:25]
    for crs in (BNG, None):
        fc = _get(service, collection, {"crs": crs} if crs else {})
        got = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in fc["features"]
               if f["id"] in ids}
        assert set(got) == set(ids)
        served = gpd.GeoSeries(list(got.values()), index=list(got), crs=27700 if crs else 4326)
        served = served.to_crs(27700)
        # Metres: output in 27700 is the stored geometry; WGS84 round-trips to under 1 m.
        worst = max(served[i].hausdorff_distance(g.geometry[i]) for i in ids)
        assert worst < (0.01 if crs else 1.0), (collection, crs, worst)


@pytest.mark.parametrize("collection", list(COLLECTIONS))
def test_bbox_in_either_crs_selects_exactly_what_meets_the_box(service, stored, collection):
    g = stored[collection]
    box = shapely.box(*_box(stored, collection))
    want = set(g.loc[g.intersects(box), "id"])
    assert 0 < len(want) < len(g)
    got = {f["id"] for f in _get(service, collection,
                                 {"bbox": ",".join(map(str, box.bounds)), "bbox-crs": BNG,
                                  "skipGeometry": "true"})["features"]}
    assert got == want
    # The same place as a WGS84 box (the default bbox-crs): the box is a box in degrees, so
    # what meets it is decided in degrees.
    wgs = gpd.GeoSeries([box], crs=27700).to_crs(4326).total_bounds
    box84 = shapely.box(*wgs)
    want84 = set(g.loc[g.to_crs(4326).intersects(box84), "id"])
    assert want <= want84
    fc = _get(service, collection, {"bbox": ",".join(f"{v:.7f}" for v in wgs),
                                    "skipGeometry": "true"})
    assert {f["id"] for f in fc["features"]} == want84
    assert fc["numberMatched"] == len(want84)


@pytest.mark.parametrize("collection", ["streets", "street_scores", "areas", "visits"])
def test_intersects_filter_in_crs84_and_27700(service, stored, collection):
    g = stored[collection]
    box = shapely.box(*_box(stored, collection))
    # A triangle, not a box: a filter geometry is any polygon.
    tri = shapely.Polygon([(box.bounds[0], box.bounds[1]), (box.bounds[2], box.bounds[1]),
                           (box.bounds[0], box.bounds[3])])
    want = set(g.loc[g.intersects(tri), "id"])
    assert want
    got = {f["id"] for f in _get(service, collection, {
        "filter": f"INTERSECTS(geometry, {tri.wkt})", "filter-crs": BNG,
        "skipGeometry": "true"})["features"]}
    assert got == want
    tri84 = gpd.GeoSeries([tri], crs=27700).to_crs(4326).iloc[0]
    tri84 = shapely.set_precision(tri84, 1e-7)
    want84 = set(g.loc[g.to_crs(4326).intersects(tri84), "id"])
    got84 = {f["id"] for f in _get(service, collection, {
        "filter": f"INTERSECTS(geometry, {shapely.to_wkt(tri84, rounding_precision=7)})",
        "skipGeometry": "true"})["features"]}
    assert got84 == want84
    assert np.isclose(len(want84), len(want), atol=max(2, len(want) // 20))
