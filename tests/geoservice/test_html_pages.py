# SPDX-License-Identifier: GPL-3.0-or-later
"""pygeoapi's own HTML pages are served entirely by us (``geoservice/html_assets.py``).

- the rewrite on pygeoapi's real templates: every CDN URL of the pages we serve has a copy
  under ``geoservice/static/vendor/`` (``npm ci`` puts them there), and no external resource
  is left in any template;
- the base map (``server.basemap``): none by default, validated, in the CSP when set;
- the running service: the pages carry the Content-Security-Policy and reference only the
  service; and in Debian's headless Chromium (playwright-core) every page loads with no
  request leaving 127.0.0.1, no failed request and no page error, the items map draws its
  features and Swagger UI its operations (screenshots in ``test-artifacts/html-pages/``).

The browser test and the vendored-file checks skip outside CI when node, Chromium or
``geoservice/node_modules`` is missing, and fail in CI (``CI=true``) instead.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

pytest.importorskip("pygeoapi")

import pygeoapi  # noqa: E402

from geoservice.config import ConfigError, parse_config, pygeoapi_config  # noqa: E402
from geoservice.html_assets import (  # noqa: E402
    ASSETS,
    BLANK_TILE,
    content_security_policy,
    inline_script_hashes,
    is_external,
    local_asset,
    localise,
    map_section,
)

ROOT = Path(__file__).resolve().parents[2]
GEOSERVICE = ROOT / "geoservice"
VENDOR = GEOSERVICE / "static" / "vendor"
NODE_MODULES = GEOSERVICE / "node_modules"
CHROMIUM = Path(os.environ.get("LPT_CHROMIUM", "/usr/bin/chromium"))
E2E = Path(__file__).resolve().parent / "e2e" / "html_pages.js"
ARTIFACTS = ROOT / "test-artifacts" / "html-pages"
TEMPLATES = Path(pygeoapi.__file__).resolve().parent / "templates"
DEMO_LINE = "Synthetic demo data: no real people, places or crimes"

SERVED = ["_base.html", "landing_page.html", "conformance.html", "collections/index.html",
          "collections/collection.html", "collections/queryables.html",
          "collections/schema.html", "collections/items/index.html",
          "collections/items/item.html", "collections/tiles/index.html",
          "collections/tiles/metadata.html", "tilematrixsets/index.html",
          "tilematrixsets/tilematrixset.html", "processes/index.html", "processes/process.html",
          "jobs/index.html", "jobs/job.html", "jobs/results/index.html", "exception.html",
          "openapi/swagger.html"]
"""The templates of pages the service serves (not EDR, STAC, admin or ReDoc: we have no
such resources, and ReDoc's bundle is not vendored, so its page stays empty)."""

_LOADING = re.compile(r"""<(?:script|img|iframe|embed|source|audio|video|track|input)\b[^>]*"""
                      r"""\s(?:src|srcset|poster)\s*=\s*["']([^"']+)["']""", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"""\shref\s*=\s*["']([^"']+)["']""", re.I)
_REL = re.compile(r"""\srel\s*=\s*["']([^"']+)["']""", re.I)
_LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
                 "preconnect", "dns-prefetch", "apple-touch-icon"}


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _vendor_missing() -> str | None:
    if not (VENDOR / "versions.json").exists():
        return "geoservice/static/vendor is missing (npm ci in geoservice/ copies it)"
    versions = json.loads((VENDOR / "versions.json").read_text())
    wanted = {"leaflet", "bootstrap", "leaflet.markercluster", "leaflet.vectorgrid",
              "swagger-ui-dist"}
    if not wanted <= set(versions):
        return f"geoservice/static/vendor lacks {sorted(wanted - set(versions))} (npm ci)"
    return None


def _browser_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    if not (NODE_MODULES / "playwright-core").is_dir():
        return f"{NODE_MODULES}/playwright-core is missing (bash scripts/setup.sh runs npm ci)"
    return _vendor_missing()


def _need(missing: str | None) -> None:
    if missing:
        if _in_ci():
            pytest.fail(f"cannot run in CI: {missing}")
        pytest.skip(missing)


def _resources(html: str) -> list[str]:
    """URLs the page would load: script/img/... sources and loading ``<link>`` hrefs."""
    urls = [m.group(1) for m in _LOADING.finditer(html)]
    for tag in _LINK.findall(html):
        rel = _REL.search(tag)
        href = _HREF.search(tag)
        if href and rel and set(rel.group(1).lower().split()) & _LOADING_RELS:
            urls.append(href.group(1))
    return urls


# -- the rewrite on pygeoapi's real templates ------------------------------------------------
def test_every_cdn_url_of_the_pages_we_serve_has_a_vendored_copy():
    cdn = {}
    for name in SERVED:
        for url in _resources((TEMPLATES / name).read_text(encoding="utf-8")):
            if is_external(url):
                cdn.setdefault(url, name)
    assert any("unpkg.com/leaflet@" in u for u in cdn)  # the templates are what we think
    unmapped = {u: n for u, n in cdn.items()
                if local_asset(u) is None and "html5shiv" not in u}
    assert unmapped == {}, "CDN URLs without a vendored copy (html_assets.ASSETS, vendor.js)"
    _need(_vendor_missing())
    missing = {u: local_asset(u) for u in cdn
               if local_asset(u) and not (VENDOR / local_asset(u)).is_file()}
    assert missing == {}, "vendor.js does not copy these"


def test_no_external_resource_is_left_in_any_template():
    for path in sorted(TEMPLATES.rglob("*.html")):
        out = localise(path.read_text(encoding="utf-8"))
        left = [u for u in _resources(out) if is_external(u)]
        assert left == [], path.relative_to(TEMPLATES)
        assert "[if lt IE 9]" not in out and 'href="https://fonts.googleapis.com' not in out


def test_table_prefixes_are_the_templates_urls():
    """Each prefix of ASSETS is used by some template (a stale entry is a sign of an upgrade)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in TEMPLATES.rglob("*.html"))
    assert [p for p in ASSETS if p not in text] == []


def test_localise_rewrites_removes_and_neutralises():
    own = "http://127.0.0.1:5000"
    page = f"""<html><head>
    <link rel="shortcut icon" href="{own}/static/img/favicon.ico" type="image/x-icon">
    <link rel="stylesheet" href="https://unpkg.com/bootstrap@5.1.3/dist/css/bootstrap.min.css">
    <link rel="stylesheet" href="{own}/static/css/default.css">
    <!--[if lt IE 9]>
      <script src="https://cdnjs.cloudflare.com/ajax/libs/html5shiv/3.7.3/html5shiv.js"></script>
    <![endif]-->
    <link href="https://fonts.googleapis.com/css?family=Montserrat:300|Roboto" rel="stylesheet">
    <link rel="license" href="https://www.nationalarchives.gov.uk/doc/open-government-licence/">
    <script src='https://unpkg.com/leaflet.vectorgrid@latest/dist/Leaflet.VectorGrid.bundled.js'>
    </script>
    <script src="https://cdn.jsdelivr.net/npm/redoc@next/bundles/redoc.standalone.js"> </script>
    </head><body>
    <a href="https://pygeoapi.io"><img src="{own}/static/img/pygeoapi.png"></a>
    <td><a href="https://evil.example/x.png">
      <img src="https://evil.example/x.png" alt="x.png" width="80"/></a></td>
    <img srcset="/a.png 1x, //evil.example/b.png 2x">
    <script>ui = SwaggerUIBundle({{
        url: '/openapi?f=json',</script>
    </body></html>"""
    out = localise(page, own=[own])
    assert '<link rel="stylesheet" href="/app/vendor/bootstrap/css/bootstrap.min.css">' in out
    assert f'href="{own}/static/css/default.css"' in out and f'src="{own}/static/img/' in out
    assert "html5shiv" not in out
    assert "<!-- lpt: removed external stylesheet (fonts.googleapis.com) -->" in out
    assert 'href="https://fonts' not in out and "redoc.standalone" not in out
    assert "<!-- lpt: removed external script (cdn.jsdelivr.net) -->" in out
    assert 'src="/app/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.js"' in out
    assert "L.DomEvent.fakeStop = L.DomEvent.stopPropagation" in out
    assert 'rel="license" href="https://www.nationalarchives.gov.uk' in out  # loads nothing
    assert '<a href="https://pygeoapi.io">' in out
    assert '<a href="https://evil.example/x.png">' in out
    assert 'data-lpt-blocked-src="https://evil.example/x.png"' in out
    assert 'data-lpt-blocked-srcset="/a.png 1x' in out
    assert "SwaggerUIBundle({\n        validatorUrl: null," in out
    assert [u for u in _resources(out) if is_external(u, [own])] == []
    assert localise(out, own=[own]) == out  # idempotent


# -- base map and attribution --------------------------------------------------------------
def test_basemap_is_none_by_default_and_attribution_is_the_datas(tmp_path):
    from spatial_core import open_store

    open_store(tmp_path / "s.gpkg").close()
    cfg = parse_config({"store": str(tmp_path / "s.gpkg"),
                        "server": {"page": {"attributions": ["Contains OS data © Crown"]}}})
    assert cfg.basemap is None
    pg = pygeoapi_config(cfg)
    assert pg["server"]["map"] == {"url": BLANK_TILE, "attribution": ""}  # no YAML source
    (tmp_path / "service.yml").write_text(
        f"store: {tmp_path / 's.gpkg'}\nserver:\n  page:\n    attributions: ['It''s ours']\n")
    from geoservice.config import load_config

    pg = pygeoapi_config(load_config(tmp_path / "service.yml"))
    assert pg["server"]["map"] == {"url": BLANK_TILE, "attribution": "It&#x27;s ours"}
    assert "openstreetmap" not in json.dumps(pg)


def test_basemap_from_the_service_yaml_is_in_the_map_and_the_policy(tmp_path):
    url = "https://{s}.tiles.force.invalid/base/{z}/{x}/{y}.png?key=abc"
    cfg = parse_config({"store": "x.gpkg", "server": {"basemap": {
        "url": url, "attribution": "&copy; <a href='https://force.invalid'>Force</a> maps"}}})
    assert cfg.basemap == (url, "&copy; <a href='https://force.invalid'>Force</a> maps")
    m = map_section(cfg.basemap, ["Synthetic demo data"])
    assert m == {"url": url, "attribution": "&copy; <a href=&#39;https://force.invalid&#39;>"
                                            "Force<\\/a> maps | Synthetic demo data"}
    csp = content_security_policy(url)
    assert "img-src 'self' data: https://*.tiles.force.invalid;" in csp
    assert "script-src 'self';" in csp and "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("; ")[1]  # scripts: by hash only
    assert "connect-src 'self';" in csp


@pytest.mark.parametrize("basemap,message", [
    ("osm", "expected a mapping"),
    ({"url": "https://t.example/{z}/{x}/{y}.png"}, "attribution is required"),
    ({"url": "https://t.example/{z}/{x}.png", "attribution": "a"}, "not an http"),
    ({"url": "ftp://t.example/{z}/{x}/{y}.png", "attribution": "a"}, "not an http"),
    ({"url": "https://t.example/{z}/{x}/{y}.png?a=1&b=2", "attribution": "a"}, "no '&'"),
    ({"url": "https://t.example/{z}/{x}/{y}.png';alert(1)//", "attribution": "a"}, "not an http"),
    ({"url": "https://t.example/{z}/{x}/{y}.png", "attribution": "a", "opacity": 1},
     "unknown key"),
])
def test_bad_basemap_says_what_is_wrong(basemap, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"store": "x.gpkg", "server": {"basemap": basemap}})


def test_basemap_none_means_none():
    assert parse_config({"store": "x.gpkg", "server": {"basemap": "none"}}).basemap is None


# -- the running service -------------------------------------------------------------------
def _area_id(service) -> str:
    status, fc = service.json("/collections/areas/items?f=json&limit=1")
    assert status == 200 and fc["features"]
    return str(fc["features"][0]["id"])


def _pages(service) -> list[dict]:
    item = quote(_area_id(service), safe="")
    return [
        {"name": "01-landing", "path": "/?f=html"},
        {"name": "02-collections", "path": "/collections?f=html"},
        {"name": "03-collection-areas", "path": "/collections/areas?f=html",
         "map": "collection-map"},
        {"name": "04-areas-items", "path": "/collections/areas/items?f=html",
         "map": "items-map"},
        {"name": "05-areas-item", "path": f"/collections/areas/items/{item}?f=html",
         "map": "items-map"},
        {"name": "06-crime-cells-items", "path": "/collections/crime_cells/items?f=html",
         "map": "items-map"},
        {"name": "07-crime-cells-tiles", "path": "/collections/crime_cells/tiles?f=html",
         "map": "items-map"},
        {"name": "08-openapi-swagger", "path": "/openapi?f=html", "swagger": True},
    ]


def test_served_pages_carry_the_policy_and_reference_only_the_service(service):
    for spec in _pages(service):
        status, headers, body = service.get(spec["path"])
        assert status == 200 and headers["Content-Type"].startswith("text/html"), spec
        html = body.decode()
        # Inline scripts are allowed by their hashes, computed from the page as served.
        hashes = inline_script_hashes(html)
        assert headers["Content-Security-Policy"] == content_security_policy(
            scripts=hashes), spec
        assert "'unsafe-inline'" not in headers["Content-Security-Policy"].split("; ")[1]
        if spec.get("map") or spec.get("swagger"):
            assert hashes, spec  # the page builds its map / Swagger UI inline
        assert headers["Referrer-Policy"] == "no-referrer"
        for host in ("unpkg.com", "cdnjs", "jsdelivr", "googleapis", "openstreetmap"):
            assert host not in html, (spec["path"], host)
        urls = _resources(html)
        assert [u for u in urls if is_external(u, [service.url])] == [], spec
        if spec.get("map"):
            assert "/app/vendor/leaflet/leaflet.js" in urls and BLANK_TILE in html
            assert DEMO_LINE in html  # the data's attribution, as on the officer page
    if not _vendor_missing() or _in_ci():
        for asset in ("bootstrap/css/bootstrap.min.css", "leaflet/leaflet.js",
                      "leaflet.markercluster/leaflet.markercluster-src.js",
                      "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.js",
                      "swagger-ui-dist/swagger-ui-bundle.js"):
            status, _, body = service.get(f"/app/vendor/{asset}")
            assert status == 200 and len(body) > 1000, asset


def test_officer_page_keeps_its_own_policy(service):
    status, headers, _ = service.get("/app/")
    assert status == 200 and "script-src 'self';" in headers["Content-Security-Policy"]


def test_html_pages_in_chromium_load_nothing_from_elsewhere(service):
    _need(_browser_missing())
    pages = _pages(service)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, LPT_BASE_URL=service.url, LPT_PAGES=json.dumps(pages),
               LPT_SHOTS=str(ARTIFACTS), LPT_NODE_MODULES=str(NODE_MODULES),
               LPT_CHROMIUM=str(CHROMIUM))
    run = subprocess.run(["node", str(E2E)], env=env, capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out.get("error") is None, out.get("error")
    got = {p["name"]: p for p in out["pages"]}
    assert list(got) == [p["name"] for p in pages]
    for name, p in got.items():
        assert p["ok"], (name, p.get("error"))
        assert p["status"] == 200, name
        # The policy as served, its inline scripts allowed by hash only (a refused script
        # would show in console_errors below).
        parts = p["csp"].split("; ")
        script = parts[1].split()
        assert script[:2] == ["script-src", "'self'"], name
        assert all(t.startswith("'sha256-") for t in script[2:]), name
        assert parts[:1] + parts[2:] == [x for i, x in enumerate(
            content_security_policy().split("; ")) if i != 1], name
        assert p["foreign"] == [], (name, p["foreign"])
        assert p["failed"] == [], (name, p["failed"])
        assert p["page_errors"] == [], (name, p["page_errors"])
        assert p["console_errors"] == [], (name, p["console_errors"])
        assert all(s.startswith(service.url + "/") for s in p["stylesheets"]), name
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 5_000
    # Bootstrap came from us and styles the pages.
    assert any(u.endswith("/app/vendor/bootstrap/css/bootstrap.min.css")
               for u in got["01-landing"]["requests"])
    assert "system-ui" in got["01-landing"]["bootstrap"]
    # The maps drew their features on a blank background, with the data's attribution.
    for name in ("04-areas-items", "05-areas-item", "06-crime-cells-items"):
        p = got[name]
        assert p["features"] > 0, name
        assert p["tiles"] == [BLANK_TILE[:40]], name
        assert DEMO_LINE in p["attribution"], name
        assert any(u.endswith("/app/vendor/leaflet/leaflet.js") for u in p["requests"])
    assert got["03-collection-areas"]["features"] > 0  # the extent's rectangle
    assert got["07-crime-cells-tiles"]["canvases"] > 0  # vector tiles drawn by VectorGrid
    assert any("/collections/crime_cells/tiles/WebMercatorQuad/" in u
               for u in got["07-crime-cells-tiles"]["requests"])
    # Swagger UI rendered the service's operations from our copy of swagger-ui-dist.
    sw = got["08-openapi-swagger"]
    assert sw["operations"] > 20
    assert any(u.endswith("/app/vendor/swagger-ui-dist/swagger-ui-bundle.js")
               for u in sw["requests"])
