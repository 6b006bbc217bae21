# SPDX-License-Identifier: GPL-3.0-or-later
"""pygeoapi's own HTML pages are served entirely by us (``geoservice/templates/``, the
policy headers of ``geoservice/html_assets.py``).

- our versions of pygeoapi's templates: each names the pygeoapi template it came from (its
  hash: an upgrade that changes one fails here), every page we serve loads only the service's
  own files (our copies under ``geoservice/static/vendor/``, which ``npm ci`` puts there), and
  the data written into inline scripts cannot close them (rendered by pygeoapi's own
  ``render_j2_template``);
- the base map (``server.basemap``): none by default, validated, in the CSP when set;
- the running service: the pages carry the Content-Security-Policy and reference only the
  service; and in Debian's headless Chromium (playwright-core) every page loads with no
  request leaving 127.0.0.1, no failed request and no page error, the items map draws its
  features and Swagger UI its operations (screenshots in ``test-artifacts/html-pages/``).

The browser test and the vendored-file checks skip outside CI when node, Chromium or
``geoservice/node_modules`` is missing, and fail in CI (``CI=true``) instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

pytest.importorskip("pygeoapi")

import pygeoapi  # noqa: E402
from pygeoapi.util import render_j2_template  # noqa: E402

from geoservice.config import (  # noqa: E402
    TEMPLATES_DIR,
    ConfigError,
    parse_config,
    pygeoapi_config,
)
from geoservice.html_assets import (  # noqa: E402
    BLANK_TILE,
    VENDOR_URL,
    content_security_policy,
    inline_script_hashes,
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
OURS = GEOSERVICE / "templates"
DEMO_LINE = "Synthetic demo data: no real people, places or crimes"

SERVED = ["_base.html", "landing_page.html", "conformance.html", "collections/index.html",
          "collections/collection.html", "collections/queryables.html",
          "collections/schema.html", "collections/items/index.html",
          "collections/items/item.html", "collections/tiles/index.html",
          "collections/tiles/metadata.html", "tilematrixsets/index.html",
          "tilematrixsets/tilematrixset.html", "processes/index.html", "processes/process.html",
          "jobs/index.html", "jobs/job.html", "jobs/results/index.html", "exception.html",
          "openapi/swagger.html", "openapi/redoc.html"]
"""The templates of pages the service serves (not EDR, STAC or admin: we have no such
resources; ReDoc's bundle is not vendored, so its page links to Swagger UI instead)."""

_LOADING = re.compile(r"""<(?:script|img|iframe|embed|source|audio|video|track|input)\b[^>]*"""
                      r"""\s(?:src|srcset|poster)\s*=\s*["']([^"']+)["']""", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"""\shref\s*=\s*["']([^"']+)["']""", re.I)
_REL = re.compile(r"""\srel\s*=\s*["']([^"']+)["']""", re.I)
_LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest",
                 "preconnect", "dns-prefetch", "apple-touch-icon"}
_HEADER = re.compile(r"\{#- lpt: pygeoapi (?P<version>\S+) templates/(?P<name>\S+)\s+"
                     r"\(upstream sha256 (?P<sha>[0-9a-f]{64})\)")


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


def _is_external(url: str, own: tuple[str, ...] = ()) -> bool:
    """Whether loading ``url`` leaves the service (``own``: its base URLs; ``data:`` and
    relative URLs, Jinja expressions included, stay)."""
    u = url.strip()
    if u.startswith("data:") or not (u.startswith("//") or re.match(r"^[a-z][a-z0-9+.-]*:",
                                                                     u, re.I)):
        return False
    netloc = urlsplit(u if not u.startswith("//") else "http:" + u).netloc.lower()
    return not any(netloc == urlsplit(o).netloc.lower() for o in own)


def _effective(name: str) -> Path:
    """The template pygeoapi renders for ``name``: ours, else its own."""
    return OURS / name if (OURS / name).is_file() else TEMPLATES / name


def _overrides() -> list[str]:
    return sorted(p.relative_to(OURS).as_posix() for p in OURS.rglob("*.html")
                  if p.relative_to(OURS).parts[0] != "lpt")


# -- our versions of pygeoapi's templates ----------------------------------------------------
def test_each_template_of_ours_names_the_pygeoapi_template_it_came_from():
    assert _overrides() == [
        "_base.html", "collections/collection.html", "collections/items/index.html",
        "collections/items/item.html", "collections/tiles/index.html", "jobs/job.html",
        "jobs/results/index.html", "openapi/redoc.html", "openapi/swagger.html"]
    assert "MIT License" in (OURS / "LICENSE-pygeoapi.md").read_text(encoding="utf-8")
    for name in _overrides():
        text = (OURS / name).read_text(encoding="utf-8")
        m = _HEADER.match(text)
        assert m and m["name"] == name, name
        assert "MIT License" in text[:m.end() + 400], name
        upstream = hashlib.sha256((TEMPLATES / name).read_bytes()).hexdigest()
        # A pygeoapi upgrade that changes the template: derive ours again from the new one.
        assert (m["version"], m["sha"]) == (pygeoapi.__version__, upstream), name


def test_every_page_we_serve_loads_only_the_services_own_files():
    vendored = set()
    for name in SERVED:
        text = _effective(name).read_text(encoding="utf-8")
        urls = _resources(text)
        assert [u for u in urls if _is_external(u)] == [], name
        assert "[if lt IE" not in text and "fonts.googleapis" not in text, name
        assert "| to_json | safe" not in text, name  # script_json in inline scripts
        vendored |= {u[len(VENDOR_URL) + 1:] for u in urls if u.startswith(VENDOR_URL + "/")}
    assert "leaflet/leaflet.js" in vendored and "bootstrap/css/bootstrap.min.css" in vendored
    # pygeoapi's own templates do load from CDNs: those are exactly the ones we replace.
    cdn = {n for n in SERVED if [u for u in _resources((TEMPLATES / n).read_text(
        encoding="utf-8")) if _is_external(u)]}
    assert cdn and cdn <= set(_overrides())
    _need(_vendor_missing())
    assert sorted(v for v in vendored if not (VENDOR / v).is_file()) == [], "vendor.js"


def _render(tmp_path, template: str, data: dict) -> str:
    from spatial_core import open_store

    open_store(tmp_path / "s.gpkg").close()
    pg = pygeoapi_config(parse_config({"store": str(tmp_path / "s.gpkg")}))
    assert pg["server"]["templates"] == {"path": str(TEMPLATES_DIR)}
    assert TEMPLATES_DIR == OURS
    return render_j2_template(pg, pg["server"]["templates"], template, data, "en-GB")


def _script_var(html: str, name: str) -> str:
    return next(line.split("=", 1)[1].strip().rstrip(";") for line in html.splitlines()
                if line.strip().startswith(f"var {name} = "))


def test_stored_text_in_a_pages_data_cannot_close_its_script(tmp_path):
    note = "</script><script>x()</script><!-- & \u2028"
    feature = {"type": "Feature", "id": "v1", "geometry": {"type": "Point",
                                                          "coordinates": [-1.1, 52.6]},
               "properties": {"notes": note, "n": 3}, "links": [], "title_field": "notes",
               "collections_path": "/collections", "items_path": "/collections/v/items"}
    item = _render(tmp_path, "collections/items/item.html", feature)
    items_data = {"features": [feature], "links": [], "title": "Visits"}
    items = _render(tmp_path, "collections/items/index.html", items_data)
    for html, data in ((item, feature), (items, [feature])):
        assert "<script>x()" not in html
        written = _script_var(html, "geojson_data")
        assert "\u2028" not in written and "\\u2028" in written
        assert written.startswith('[{"type":"Feature","id":"v1"' if isinstance(data, list)
                                  else '{"type":"Feature","id":"v1"')  # pygeoapi's key order
        assert "\\u003c/script\\u003e\\u003cscript\\u003ex()" in written
        assert json.loads(written) == data  # still the same JSON
        # the page's own scripts, no other: as many as with a plain note
        plain = {**feature, "properties": {"notes": "plain", "n": 3}}
        template = "collections/items/" + ("index.html" if data is not feature else "item.html")
        assert len(inline_script_hashes(html)) == len(inline_script_hashes(_render(
            tmp_path, template, plain if data is feature else {**items_data,
                                                               "features": [plain]})))
    job = _render(tmp_path, "jobs/job.html", {"jobs": {
        "parameters": json.dumps({"note": note}), "message": "m", "status": "successful",
        "progress": 100, "jobID": "j1", "job_start_datetime": "2026-01-01T00:00:00Z",
        "job_end_datetime": "2026-01-01T00:00:01Z", "processID": "p"}, "links": []})
    assert json.loads(json.loads(_script_var(job, "parameters"))) == {"note": note}
    assert "<script>x()" not in job
    result = _render(tmp_path, "jobs/results/index.html",
                     {"job": {"id": "j1"}, "result": {"note": note}, "links": []})
    assert "<script>x()" not in result and "\\u003c/script\\u003e" in result


def test_templates_load_our_copies_and_nothing_a_page_data_names_elsewhere(tmp_path):
    own = "http://127.0.0.1:5000"
    feature = {"type": "Feature", "id": "a", "geometry": None, "title_field": "name",
               "properties": {"name": "A", "photo": "https://evil.example/x.png",
                              "logo": f"{own}/static/img/logo.png"},
               "links": [{"rel": "stylesheet", "type": "text/css", "title": "s",
                          "href": "https://evil.example/s.css"},
                         {"rel": "collection", "type": "application/json", "title": "Areas",
                          "href": f"{own}/collections/areas"}],
               "collections_path": "/collections", "items_path": "/collections/a/items"}
    html = _render(tmp_path, "collections/items/item.html", feature)
    assert '<a href="https://evil.example/x.png">x.png</a>' in html  # linked, not loaded
    assert f'<img src="{own}/static/img/logo.png" alt="logo.png"' in html
    assert '<link rel="collection" type="application/json"' in html
    assert "evil.example/s.css" not in html.split("</head>", 1)[0]  # no <link> loads it
    assert [u for u in _resources(html) if _is_external(u, (own,))] == []
    assert '<script src="/app/vendor/leaflet/leaflet.js"></script>' in html
    assert '<link rel="stylesheet" href="/app/vendor/bootstrap/css/bootstrap.min.css">' in html
    swagger = _render(tmp_path, "openapi/swagger.html", {"openapi-document-path": "/openapi"})
    assert "SwaggerUIBundle({\n        validatorUrl: null," in swagger
    assert '<script src="/app/vendor/swagger-ui-dist/swagger-ui-bundle.js">' in swagger
    redoc = _render(tmp_path, "openapi/redoc.html", {"openapi-document-path": "/openapi"})
    assert _resources(redoc) == [] and 'href="/openapi?f=html">Swagger UI' in redoc
    tiles = (OURS / "collections/tiles/index.html").read_text(encoding="utf-8")
    assert ('<script src="/app/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.js">'
            "</script>\n    <script>/* lpt: Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop"
            in tiles)


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
        assert [u for u in urls if _is_external(u, (service.url,))] == [], spec
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
