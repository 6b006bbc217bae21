# SPDX-License-Identifier: GPL-3.0-or-later
"""Real clients read the running service: OWSLib, GDAL's OAPIF driver; health and logs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def test_health_reports_the_store(service):
    status, body = service.json("/health")
    assert status == 200
    from spatial_core.store.schema import SCHEMA_VERSION

    assert body == {"status": "ok", "backend": "geopackage", "schema_version": SCHEMA_VERSION}


def test_logs_are_json_lines_with_who_and_status(service):
    service.json("/collections/areas/items?limit=1")
    records = [json.loads(line) for line in service.log.read_text().splitlines()
               if line.startswith("{")]
    access = [r for r in records if r["logger"] == "geoservice.access"]
    assert any(r["path"] == "/collections/areas/items" and r["status"] == 200
               and r["role"] == "public" and r["ms"] is not None for r in access)


def test_owslib_reads_areas_and_streets(service, demo):
    from owslib.ogcapi import REQUEST_HEADERS
    from owslib.ogcapi.features import Features

    # OWSLib keeps every client's headers in one module dict (REQUEST_HEADERS): a client made
    # with a token by an earlier test would make this "public" client send that token.
    REQUEST_HEADERS.pop("Authorization", None)
    public = Features(service.url)
    assert {"streets", "areas", "visits"} <= {c["id"] for c in public.collections()["collections"]}
    areas = public.collection_items("areas", limit=100)
    assert areas["numberMatched"] == 17
    officer = Features(service.url, headers={
        "Authorization": f"Bearer {service.token('beat_officer', ['DM01B01'])}"})
    streets = officer.collection_items("streets", limit=500)
    s = demo["streets"]
    assert streets["numberMatched"] == int((s["beat_id"] == "beat:DM01B01").sum())
    assert {f["properties"]["beat_id"] for f in streets["features"]} == {"beat:DM01B01"}


@pytest.mark.skipif(shutil.which("ogrinfo") is None and not IN_CI,
                    reason="gdal-bin not installed (in CI this fails instead)")
def test_gdal_ogrinfo_reads_collections(service, demo):
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{service.url}", "areas"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Feature Count: 17" in out.stdout
    # A system client with an API key, through GDAL's HTTP header option.
    out = subprocess.run(["ogrinfo", "-ro", "-al", "-q", f"OAPIF:{service.url}", "streets",
                          "--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {service.api_key}"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("OGRFeature(streets)") == len(demo["streets"])


def test_output_in_british_national_grid_and_html(service):
    tok = service.token("beat_officer", ["DM01B01"])
    crs = "http://www.opengis.net/def/crs/EPSG/0/27700"
    status, headers, body = service.get(f"/collections/streets/items?limit=1&crs={crs}",
                                        token=tok)
    assert status == 200 and headers["Content-Crs"] == f"<{crs}>"
    x, y = json.loads(body)["features"][0]["geometry"]["coordinates"][0][0]
    assert 400_000 < x < 500_000 and 250_000 < y < 400_000  # metres, not degrees
    status, _, body = service.get("/collections/streets/items?limit=1", token=tok)
    lng, lat = json.loads(body)["features"][0]["geometry"]["coordinates"][0][0]
    assert -3 < lng < 0 and 52 < lat < 54
    status, headers, body = service.get("/collections/streets/items?f=html&limit=2", token=tok)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"beat:DM01B01/" in body
