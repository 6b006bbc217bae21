# SPDX-License-Identifier: GPL-3.0-or-later
"""Vector tiles (OGC API Tiles, MVT) against the running service: which rows a caller's tile
holds (computed from the store with shapely/pyproj), where the geometry lands, disclosure
control, 404s, metadata, the response cache, and real clients (GDAL's MVT driver, QGIS's
vector tile layer); one tile on PostGIS."""
from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import shapely

mvt = pytest.importorskip("mapbox_vector_tile")
from pyproj import Transformer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OFFICER_BEAT = "beat:DM01B01"
OTHER_BEAT = "beat:DM02B04"
SUPERVISOR_NPA = "npa:DM01"
HALF = 20037508.342789244
EXTENT = 4096
BUFFER = 64  # tile units: the provider's default buffer
TO_MERC = Transformer.from_crs(27700, 3857, always_xy=True)
PERSONAL = ["visits", "walk_lists", "key_contacts", "setups"]


# -- helpers ------------------------------------------------------------------------------
def tile_box(z: int, y: int, x: int, pad_units: float = 0.0) -> tuple[float, ...]:
    size = 2 * HALF / (1 << z)
    minx, maxy = -HALF + x * size, HALF - y * size
    pad = size * pad_units / EXTENT
    return (minx - pad, maxy - size - pad, minx + size + pad, maxy + pad)


def merc(geoms):
    def project(c):
        x, y = TO_MERC.transform(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), project)


def fetch(service, cid, z, y, x, headers=None, **kw):
    status, hdrs, body = service.get(
        f"/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt", headers=headers, **kw)
    if hdrs.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, hdrs, body


def _count(v):
    """A published count (None where withheld)."""
    return None if v is None or v != v else int(v)


def decode(body: bytes, layer: str) -> list[dict]:
    d = mvt.decode(body, default_options={"y_coord_down": True})
    assert set(d) <= {layer}
    return d[layer]["features"] if layer in d else []


@pytest.fixture(scope="module")
def callers(service):
    return {
        "force_analyst": {"token": service.token("force_analyst")},
        "supervisor": {"token": service.token("supervisor", ["DM01"])},
        "beat_officer": {"token": service.token("beat_officer", [OFFICER_BEAT])},
        "other_officer": {"token": service.token("beat_officer", [OTHER_BEAT])},
        "partner": {"token": service.token("partner")},
        "partner_key": {"api_key": service.partner_key},
        "public": {},
    }


@pytest.fixture(scope="module")
def facts(service, demo):
    """The store's streets in EPSG:3857 with their scores, and its crime cells."""
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import crime_cells, disclosed_crime_cells
    from spatial_core.targeting.scoring import load_scores

    s = open_store(service.store, create=False)
    try:
        _, scores = load_scores(s)
        exact = crime_cells(s, 8, beats=[OFFICER_BEAT])
        disclosed = disclosed_crime_cells(s, 8, k=service.k)
        cells_all = crime_cells(s, 8)
    finally:
        s.close()
    streets = demo["streets"].copy()
    streets["merc"] = merc(streets.geometry.to_numpy(object))
    streets = streets.merge(scores[["street_id", "score", "rank_in_beat", "reasons"]],
                            on="street_id", how="left")
    a = demo["areas"]
    npa_beats = set(a.loc[(a["level"] == "beat") & (a["parent_id"] == SUPERVISOR_NPA),
                          "area_id"])
    return {"streets": streets, "exact": exact, "disclosed": disclosed, "cells": cells_all,
            "visible": {"force_analyst": None, "supervisor": npa_beats,
                        "beat_officer": {OFFICER_BEAT}}}


def _meeting(streets, box):
    b = shapely.box(*box)
    return streets[shapely.intersects(streets["merc"].to_numpy(object), b)]


def _tiny(streets, z) -> set[str]:
    unit = 2 * HALF / (1 << z) / EXTENT
    return set(streets.loc[shapely.length(streets["merc"].to_numpy(object)) < 1.5 * unit,
                           "street_id"])


def _drawn(streets, z, y, x):
    """Streets with at least 1.5 tile units of length in tile z/y/x (shorter pieces cannot
    survive the snap to the tile grid; the demo has street units a few cm long)."""
    box = tile_box(z, y, x)
    unit = (box[2] - box[0]) / EXTENT
    inside = shapely.intersection(streets["merc"].to_numpy(object), shapely.box(*box))
    return streets[shapely.length(inside) >= 1.5 * unit]


# -- which rows -----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["force_analyst", "supervisor", "beat_officer"])
def test_street_scores_tiles_hold_exactly_the_callers_streets_meeting_each_tile(tiles_over,
        service, demo, callers, facts, role):
    streets = facts["streets"]
    visible = facts["visible"][role]
    mine = streets if visible is None else streets[streets["beat_id"].isin(visible)]
    seen: set[str] = set()
    checked = 0
    for z, y, x in tiles_over(mine.total_bounds, 15):
        status, hdrs, body = fetch(service, "street_scores", z, y, x, **callers[role])
        assert status == 200 and hdrs["Content-Type"] == "application/vnd.mapbox-vector-tile"
        got = {f["properties"]["street_id"] for f in decode(body, "street_scores")}
        inner = set(_drawn(mine, z, y, x)["street_id"])
        padded = _meeting(mine, tile_box(z, y, x, BUFFER))
        assert inner <= got <= set(padded["street_id"]), (z, y, x)
        others = _meeting(streets, tile_box(z, y, x, BUFFER))
        hidden = set(others["street_id"]) - set(mine["street_id"])
        assert not got & hidden
        checked += bool(hidden)
        seen |= got
    # every street of the caller is in some tile (but a few cm long pieces)
    assert seen == set(mine["street_id"]) - _tiny(mine, 15)
    if role != "force_analyst":
        assert checked > 0  # some tile really had another beat's streets to leave out


def test_officer_tile_properties_are_the_stored_scores(tiles_over, service, callers, facts):
    streets = facts["streets"].set_index("street_id")
    z, y, x = tiles_over(streets[streets["beat_id"] == OFFICER_BEAT].total_bounds, 15)[0]
    _, _, body = fetch(service, "street_scores", z, y, x, **callers["beat_officer"])
    feats = decode(body, "street_scores")
    assert feats
    for f in feats:
        p = f["properties"]
        want = streets.loc[p["street_id"]]
        assert p["beat_id"] == OFFICER_BEAT == want["beat_id"]
        assert p["score"] == pytest.approx(round(float(want["score"]), 6))
        assert p["rank_in_beat"] == int(want["rank_in_beat"])
        assert p["reasons"] == want["reasons"]  # full reasons at the detail zooms
        assert "components" not in p and f["geometry"]["type"] in ("LineString",
                                                                    "MultiLineString")


def test_low_zoom_tiles_carry_the_compact_properties_only(tiles_over, service, callers, facts):
    from geoservice.config import TILES

    mine = facts["streets"][facts["streets"]["beat_id"] == OFFICER_BEAT]
    props: set[str] = set()
    ids: set[str] = set()
    for z, y, x in tiles_over(mine.total_bounds, 12):
        _, _, body = fetch(service, "street_scores", z, y, x, **callers["beat_officer"])
        for f in decode(body, "street_scores"):
            props |= set(f["properties"])
            ids.add(f["properties"]["street_id"])
    assert ids == set(mine["street_id"]) - _tiny(mine, 12)  # the beat in a few tiles
    assert props == set(TILES["street_scores"]["properties"])
    assert "reasons" not in props


def test_geometry_lands_where_the_street_is(tiles_over, service, callers, facts):
    """Decoded tile coordinates map back within one tile unit of the stored line."""
    mine = facts["streets"][facts["streets"]["beat_id"] == OFFICER_BEAT].set_index("street_id")
    compared = 0
    for z, y, x in tiles_over(mine.total_bounds, 15):
        minx, miny, maxx, maxy = tile_box(z, y, x)
        unit = (maxx - minx) / EXTENT
        _, _, body = fetch(service, "street_scores", z, y, x, **callers["beat_officer"])
        for f in decode(body, "street_scores"):
            true = mine.loc[f["properties"]["street_id"], "merc"]
            if not shapely.box(minx, miny, maxx, maxy).contains(true):
                continue  # clipped at the tile edge: compared in its own tile
            g = shapely.geometry.shape(f["geometry"])

            def back(c, minx=minx, maxy=maxy, unit=unit):
                return np.column_stack([minx + c[:, 0] * unit, maxy - c[:, 1] * unit])

            g = shapely.transform(g, back)
            # every decoded vertex within a tile unit of the street, and the street within
            # a tile unit of the decoded line (the maximum zoom is not simplified)
            assert shapely.hausdorff_distance(g, true) <= unit, f["properties"]["street_id"]
            for v in shapely.get_coordinates(g):
                d = np.hypot(*(shapely.get_coordinates(true) - v).T).min()
                assert d <= unit * 0.75  # a stored vertex, rounded to the grid
            compared += 1
    assert compared >= 10


def test_a_tile_outside_the_callers_area_is_an_empty_layer(tiles_over, service, callers, facts):
    streets = facts["streets"]
    other = streets[streets["beat_id"] == OTHER_BEAT]
    mine = streets[streets["beat_id"] == OFFICER_BEAT]
    tiles = [t for t in tiles_over(other.total_bounds, 15)
             if not len(_meeting(mine, tile_box(*t, BUFFER)))
             and len(_meeting(other, tile_box(*t)))]
    assert tiles
    for t in tiles[:2] + [(15, 10000, 16000)]:  # …and one far away from the force
        status, _, body = fetch(service, "street_scores", *t, **callers["beat_officer"])
        assert status == 200
        d = mvt.decode(body)
        assert d["street_scores"]["features"] == []  # a valid MVT: the layer, no feature
        status, _, body = fetch(service, "street_scores", *t, **callers["other_officer"])
        if t[1] != 10000:
            assert decode(body, "street_scores")  # the same tile has rows for their officer


def test_streets_tiles_follow_the_street_scope(tiles_over, service, callers, facts):
    streets = facts["streets"]
    mine = streets[streets["beat_id"] == OFFICER_BEAT]
    seen = set()
    for z, y, x in tiles_over(mine.total_bounds, 14):
        status, _, body = fetch(service, "streets", z, y, x, **callers["beat_officer"])
        assert status == 200
        feats = decode(body, "streets")
        assert {f["properties"]["beat_id"] for f in feats} <= {OFFICER_BEAT}
        assert {"street_id", "name", "highway", "households"} <= set(feats[0]["properties"])
        seen |= {f["properties"]["street_id"] for f in feats}
    assert seen == set(mine["street_id"]) - _tiny(mine, 14)


# -- who may ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["partner", "partner_key", "public"])
@pytest.mark.parametrize("cid", ["street_scores", "streets"])
def test_police_layers_tiles_are_404_for_partners_and_the_public(tiles_over, service, callers,
                                                                 facts, role, cid):
    z, y, x = tiles_over(facts["streets"].total_bounds, 14)[0]
    status, _, body = fetch(service, cid, z, y, x, **callers[role])
    assert status == 404  # not 401/403: a tile never confirms what a caller may not see
    assert b"street_id" not in body


@pytest.mark.parametrize("cid", PERSONAL)
def test_personal_collections_offer_no_tiles(service, callers, cid):
    for kw in (callers["force_analyst"], callers["public"]):
        status, body = service.json(f"/collections/{cid}/tiles?f=json", **kw)
        assert status == 400 and "tilesets" not in (body or {})
        status, _, _ = fetch(service, cid, 14, 5353, 8127, **kw)
        assert status == 400
    status, body = service.json(f"/collections/{cid}?f=json", **callers["force_analyst"])
    assert not [ln for ln in body["links"] if "tilesets" in ln["rel"]]


@pytest.mark.parametrize("role", ["public", "partner_key"])
def test_crime_cells_tiles_for_partners_and_public_publish_no_small_count(tiles_over,
        service, callers, facts, role):
    disclosed = facts["disclosed"].set_index("cell_id")
    assert disclosed["crimes"].isna().any()  # the demo has counts to withhold at k
    got: dict[str, object] = {}
    for z, y, x in tiles_over(facts["streets"].total_bounds, 12):
        status, _, body = fetch(service, "crime_cells", z, y, x, **callers[role])
        assert status == 200
        for f in decode(body, "crime_cells"):
            p = f["properties"]
            assert f["id"] == int(p["cell_id"], 16)  # the H3 index is the feature id
            c = p.get("crimes")
            assert c is None or c == 0 or c >= service.k
            assert p["disclosure"] == f"k={service.k}"
            got[p["cell_id"]] = c
    assert got == {i: _count(c) for i, c in disclosed["crimes"].items()}


def test_crime_cells_tiles_for_an_officer_are_exact_in_their_beat(tiles_over, service, callers,
                                                                  facts):
    exact = facts["exact"].set_index("cell_id")["crimes"].to_dict()
    got = {}
    for z, y, x in tiles_over(facts["streets"].total_bounds, 12):
        _, _, body = fetch(service, "crime_cells", z, y, x, **callers["beat_officer"])
        got.update({f["properties"]["cell_id"]: f["properties"]["crimes"]
                    for f in decode(body, "crime_cells")})
    assert got == {k: int(v) for k, v in exact.items()}
    small = [v for v in got.values() if 0 < v < service.k]
    assert small  # exact: the officer sees the small counts the public does not


# -- tile matrix and metadata ---------------------------------------------------------------
@pytest.mark.parametrize("path,status", [
    ("/collections/street_scores/tiles/WebMercatorQuad/9/167/253?f=mvt", 404),   # below min
    ("/collections/street_scores/tiles/WebMercatorQuad/16/21412/32508?f=mvt", 404),  # above
    ("/collections/street_scores/tiles/WebMercatorQuad/12/4096/0?f=mvt", 404),  # off matrix
    ("/collections/street_scores/tiles/WorldCRS84Quad/12/1000/2000?f=mvt", 404),
    ("/collections/street_scores/tiles/WebMercatorQuad/12/a/1?f=mvt", 400),
    ("/collections/nope/tiles/WebMercatorQuad/12/1/1?f=mvt", 404),
])
def test_tiles_outside_the_matrix_or_zooms_are_404_and_bad_numbers_400(service, callers,
                                                                       path, status):
    assert service.get(path, **callers["force_analyst"])[0] == status


def test_tiles_metadata_lists_the_tilesets(service, callers):
    from geoservice.config import TILES

    status, cols = service.json("/collections?f=json")
    assert status == 200
    tiled = {c["id"] for c in cols["collections"]
             if any(ln["rel"].endswith("tilesets-vector") for ln in c["links"])}
    assert tiled == set(TILES)
    for cid, spec in TILES.items():
        status, body = service.json(f"/collections/{cid}/tiles?f=json")
        assert status == 200
        assert [t["tileMatrixSetURI"].rsplit("/", 1)[1] for t in body["tilesets"]] == \
            ["WebMercatorQuad"]
        assert body["tilesets"][0]["dataType"] == "vector"
        item = [ln for ln in body["links"] if ln["rel"] == "item"][0]
        assert item["href"] == (f"{service.url}/collections/{cid}/tiles/WebMercatorQuad/"
                                "{tileMatrix}/{tileRow}/{tileCol}?f=mvt")
        status, ts = service.json(f"/collections/{cid}/tiles/WebMercatorQuad?f=json")
        assert status == 200 and ts["crs"].endswith("/3857")
        layer = ts["layers"][0]
        assert layer["id"] == cid
        assert (int(layer["minTileMatrix"]), int(layer["maxTileMatrix"])) == \
            (spec["zoom"]["min"], spec["zoom"]["max"])
        assert set(layer["propertiesSchema"]["properties"]) == \
            set(spec["properties"]) | set(spec.get("detail_properties", []))
        scheme = [ln["href"] for ln in ts["links"] if ln["rel"].endswith("tiling-scheme")][0]
        status, tms = service.json(scheme.replace(service.url, "") + "?f=json")
        assert status == 200 and tms["id"] == "WebMercatorQuad"
        status, tj = service.json(f"/collections/{cid}/tiles/WebMercatorQuad/metadata"
                                  "?f=tilejson")
        assert status == 200 and tj["tilejson"] == "3.0.0"
        assert tj["tiles"] == [f"{service.url}/collections/{cid}/tiles/WebMercatorQuad/"
                               "{z}/{y}/{x}?f=mvt"]
        assert (tj["minzoom"], tj["maxzoom"]) == (spec["zoom"]["min"], spec["zoom"]["max"])
        assert tj["vector_layers"][0]["id"] == cid
        w, s, e, n = tj["bounds"]
        assert -2 < w < e < 0 and 52 < s < n < 54  # the demo force, near Derby
    status, _, body = service.get("/collections/street_scores/tiles/WebMercatorQuad?f=html")
    assert status == 200 and b"{tileMatrix}" in body


def test_openapi_documents_the_tile_paths(service):
    status, oas = service.json("/openapi?f=json")
    assert status == 200
    paths = set(oas["paths"])
    for cid in ("street_scores", "streets", "crime_cells"):
        assert f"/collections/{cid}/tiles" in paths
    assert not any(p.startswith(f"/collections/{c}/tiles") for c in PERSONAL for p in paths)


# -- caching --------------------------------------------------------------------------------
def test_tiles_are_cached_per_scope_byte_identical(tiles_over, service, callers, facts):
    mine = facts["streets"][facts["streets"]["beat_id"] == OFFICER_BEAT]
    z, y, x = tiles_over(mine.total_bounds, 13)[0]
    path = f"/collections/street_scores/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt&_t=cache"
    # two workers: repeat until each has answered twice
    seen = []
    for _ in range(8):
        status, h, body = service.get(path, **callers["beat_officer"])
        assert status == 200
        seen.append((h["X-Cache"], body))
        vary = {v.strip() for v in h["Vary"].split(",")}
        assert {"Authorization", "Accept-Encoding"} <= vary  # a hit keeps the app's Vary
    assert {b for _, b in seen} == {seen[0][1]}
    assert "HIT" in {c for c, _ in seen}
    status, h, gz = service.get(path, headers={"Accept-Encoding": "gzip"},
                                **callers["beat_officer"])
    assert h.get("Content-Encoding") == "gzip" and gzip.decompress(gz) == seen[0][1]
    assert len(gz) < len(seen[0][1])
    # another officer (another scope) never gets the first officer's tile
    status, h, other = service.get(path, **callers["other_officer"])
    assert status == 200 and other != seen[0][1]
    ids = {f["properties"]["beat_id"] for f in decode(other, "street_scores")}
    assert ids <= {OTHER_BEAT}
    # a 404 is never cached
    for _ in range(3):
        status, h, _ = service.get(path)
        assert status == 404 and h.get("X-Cache") is None


# -- real clients ---------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin not installed")
def test_gdal_mvt_driver_reads_an_officers_tile(tiles_over, service, callers, facts):
    mine = facts["streets"][facts["streets"]["beat_id"] == OFFICER_BEAT]
    z, y, x = max(tiles_over(mine.total_bounds, 15),
                  key=lambda t: len(_meeting(mine, tile_box(*t))))
    _, _, body = fetch(service, "street_scores", z, y, x, **callers["beat_officer"])
    want = decode(body, "street_scores")
    tok = service.token("beat_officer", [OFFICER_BEAT])
    url = f"{service.url}/collections/street_scores/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-oo", f"X={x}", "-oo", f"Y={y}", "-oo", f"Z={z}",
         "-oo", "CLIP=NO", "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {tok}",
         f"MVT:{url}"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"Feature Count: {len(want)}" in out.stdout and len(want) > 3
    assert "score: Real" in out.stdout and "ID[\"EPSG\",3857]" in out.stdout
    got = {ln.split("=", 1)[1].strip() for ln in out.stdout.splitlines()
           if ln.strip().startswith("street_id (String)")}
    assert got == {f["properties"]["street_id"] for f in want}
    # georeferenced: the layer's extent lies in the tile (plus its buffer)
    ext = [ln for ln in out.stdout.splitlines() if ln.startswith("Extent:")][0]
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", ext)]
    minx, miny, maxx, maxy = tile_box(z, y, x, BUFFER + 0.01)  # ogrinfo rounds to 1e-6
    assert minx <= nums[0] <= nums[2] <= maxx and miny <= nums[1] <= nums[3] <= maxy


QGIS_SCRIPT = """
import json, os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsMapRendererSequentialJob,
                       QgsMapSettings, QgsPalLayerSettings, QgsRectangle,
                       QgsVectorTileBasicLabeling, QgsVectorTileBasicLabelingStyle,
                       QgsVectorTileLayer, QgsVectorTileRenderer, QgsWkbTypes)
from qgis.PyQt.QtCore import QSize

app = QgsApplication([], False)
app.initQgis()
SEEN = []


class Collect(QgsVectorTileRenderer):
    # A renderer that keeps the decoded features (QGIS 3.22 has no feature API for tiles).
    def type(self): return "collect"
    def clone(self): return Collect()
    def startRender(self, ctx, zoom, tile_range): pass
    def stopRender(self, ctx): pass
    def requiredLayers(self, ctx, zoom): return {"crime_cells"}
    def writeXml(self, el, ctx): pass
    def readXml(self, el, ctx): pass

    def renderTile(self, tile, ctx):
        t = tile.id()
        for name in tile.layers():
            for f in tile.layerFeatures(name):
                SEEN.append({"tile": [t.zoomLevel(), t.row(), t.column()],
                             "cell_id": f["cell_id"],
                             "crimes": None if f["crimes"] in (None, "") or
                             str(f["crimes"]) == "NULL" else int(f["crimes"]),
                             "wkb": f.geometry().type()})


uri = ("type=xyz&url=" + sys.argv[1].replace("{", "%7B").replace("}", "%7D")
       .replace("?f=", "?f%3D") + "&zmin=8&zmax=14")
layer = QgsVectorTileLayer(uri, "cells")
assert layer.isValid()
layer.setRenderer(Collect())
# the labelling asks for the fields, so that QGIS decodes them
pal = QgsPalLayerSettings()
pal.fieldName = "concat(cell_id, '|', crimes)"
pal.isExpression = True
style = QgsVectorTileBasicLabelingStyle()
style.setLayerName("crime_cells")
style.setLabelSettings(pal)
style.setGeometryType(QgsWkbTypes.PolygonGeometry)
labels = QgsVectorTileBasicLabeling()
labels.setStyles([style])
layer.setLabeling(labels)
s = QgsMapSettings()
s.setLayers([layer])
s.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
s.setExtent(QgsRectangle(*[float(v) for v in sys.argv[2].split(",")]))
s.setOutputSize(QSize(int(sys.argv[3]), int(sys.argv[3])))
job = QgsMapRendererSequentialJob(s)
job.start()
job.waitForFinished()
print("RESULT" + json.dumps({"features": SEEN, "crs": layer.crs().authid()}))
"""


def test_qgis_vector_tile_layer_reads_public_crime_cells(service, facts, tmp_path):
    out = subprocess.run([sys.executable, "-c", "import qgis.core"], capture_output=True)
    if out.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("qgis is not importable (python3-qgis must be installed in CI)")
        pytest.skip("qgis is not importable")
    from spatial_core.geo.cells import cells_to_boundaries

    cells = facts["disclosed"]
    hexes = cells_to_boundaries(np.array([int(c, 16) for c in cells["cell_id"]], "int64"))
    fwd = Transformer.from_crs(4326, 3857, always_xy=True)
    hexes = shapely.transform(hexes, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))
    minx, miny, maxx, maxy = shapely.total_bounds(hexes)
    script = tmp_path / "qgis_tiles.py"
    script.write_text(textwrap.dedent(QGIS_SCRIPT))
    url = f"{service.url}/collections/crime_cells/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}?f=mvt"
    run = subprocess.run([sys.executable, str(script), url, f"{minx},{miny},{maxx},{maxy}",
                          "512"], capture_output=True, text=True, timeout=240,
                         env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    line = next((x for x in run.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, run.stdout + run.stderr
    got = json.loads(line[len("RESULT"):])
    feats = got["features"]
    assert got["crs"] == "EPSG:3857" and feats
    tiles = {tuple(f["tile"]) for f in feats}
    # QGIS decoded what the service sent for each tile it drew …
    for t in tiles:
        _, _, body = fetch(service, "crime_cells", *t)
        ours = sorted(f["properties"]["cell_id"] for f in decode(body, "crime_cells"))
        assert sorted(f["cell_id"] for f in feats if tuple(f["tile"]) == t) == ours
    # … which, over the view, is every disclosed cell once, with its published count
    by_cell = {f["cell_id"]: f["crimes"] for f in feats}
    assert by_cell == {r.cell_id: _count(r.crimes) for r in cells.itertuples()}
    assert not [c for c in by_cell.values() if c is not None and 0 < c < service.k]


# -- PostGIS --------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tiles_on_postgis(tiles_over, postgis_url, tmp_path, running_service):
    from geoservice.auth import hash_api_key
    from spatial_core import open_store
    from spatial_core.analytics.cell_aggregates import disclosed_crime_cells
    from spatial_core.demo import build_demo

    s = open_store(postgis_url)
    build_demo(s, tmp_path / "files", households=1_500, months=2)
    streets = s.read("streets", ["street_id", "beat_id", "geom"])
    s.close()
    key = "postgis-tiles-officer-0123"
    (tmp_path / "service.yml").write_text(f"""
store: {postgis_url}
auth:
  api_keys:
    - name: officer
      sha256: {hash_api_key(key)}
      role: beat_officer
      areas: [{OFFICER_BEAT}]
disclosure:
  k: 10
audit:
  path: audit.jsonl
""")
    with running_service(tmp_path / "service.yml") as (url, _, _):

        def get(path, api_key=None):
            req = urllib.request.Request(url + path, headers={"X-API-Key": api_key} if api_key
                                         else {})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    return r.status, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        streets["merc"] = merc(streets.geometry.to_numpy(object))
        mine = streets[streets["beat_id"] == OFFICER_BEAT]
        n = 0
        for z, y, x in tiles_over(mine.total_bounds, 14):
            for cid in ("street_scores", "streets"):
                status, body = get(f"/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}"
                                   "?f=mvt", key)
                assert status == 200
                got = {f["properties"]["street_id"] for f in decode(body, cid)}
                inner = set(_drawn(mine, z, y, x)["street_id"])
                assert inner <= got <= set(_meeting(mine, tile_box(z, y, x, BUFFER))
                                           ["street_id"])
                n += len(got)
            assert get(f"/collections/street_scores/tiles/WebMercatorQuad/{z}/{y}/{x}"
                       "?f=mvt")[0] == 404
        assert n >= 2 * len(mine)
        s = open_store(postgis_url, create=False)
        try:
            disclosed = disclosed_crime_cells(s, 8, k=10)
        finally:
            s.close()
        got = {}
        for z, y, x in tiles_over(streets.total_bounds, 12):
            status, body = get(f"/collections/crime_cells/tiles/WebMercatorQuad/{z}/{y}/{x}"
                               "?f=mvt")
            assert status == 200
            got.update({f["properties"]["cell_id"]: f["properties"].get("crimes")
                        for f in decode(body, "crime_cells")})
        assert got == {r.cell_id: _count(r.crimes) for r in disclosed.itertuples()}
