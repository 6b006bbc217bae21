# SPDX-License-Identifier: GPL-3.0-or-later
"""pygeoapi's own HTML pages, served entirely by us: no CDN, no third-party tile server.

pygeoapi's templates (``?f=html`` on the landing page, collections, items, an item, tiles,
and the Swagger UI of ``/openapi?f=html``) load Bootstrap, Leaflet, leaflet.markercluster,
Leaflet.VectorGrid and swagger-ui-dist from unpkg.com (and html5shiv, fonts and others from
cdnjs, jsdelivr and fonts.googleapis.com). On a police network those pages break, and a
personal collection's page would tell the CDN which records an officer is looking at. So:

- :func:`localise` (a pure function, HTML text to HTML text) points every CDN URL of
  :data:`ASSETS` at our copy under ``/app/vendor/`` (``geoservice/vendor.js`` copies the npm
  packages there on ``npm ci``), and removes or neutralises any other external resource:
  IE conditional comments (html5shiv), ``<script src>`` and loading ``<link>`` tags (fonts,
  stylesheets, icons) pointing elsewhere, and ``src``/``srcset``/``poster``/``data`` of other
  elements (an item property ending in ``.png`` is rendered by pygeoapi as an ``<img>``);
  Swagger UI gets ``validatorUrl: null`` (its badge would send the document's URL to
  validator.swagger.io) and Leaflet.VectorGrid a one-line shim for Leaflet 1.9;
- :func:`install` registers an ``after_request`` hook that applies it to every ``text/html``
  answer outside ``/app/`` (the officer page has its own policy) and adds
  :func:`content_security_policy`, ``Referrer-Policy: no-referrer`` and ``nosniff``;
- :func:`map_section` is pygeoapi's ``server.map``: no base map unless the service YAML has
  ``server.basemap`` (then its tiles and attribution), and the attribution lines of the data
  shown, the same as the officer page's (:func:`geoservice.config.data_attribution_lines`).
"""
from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ASSETS", "VENDOR_URL", "BLANK_TILE", "localise", "local_asset", "is_external",
           "content_security_policy", "inline_script_hashes", "script_safe_json",
           "map_section", "install"]

VENDOR_URL = "/app/vendor"
"""Where the officer page's route serves ``geoservice/static/vendor/``."""

ASSETS: dict[str, str] = {
    # URL prefix in pygeoapi's templates -> path under static/vendor/ (vendor.js copies)
    "https://unpkg.com/bootstrap@5.1.3/dist/css/": "bootstrap/css/",
    "https://unpkg.com/leaflet@1.3.1/dist/": "leaflet/",  # served by Leaflet 1.9.4
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet/1.3.1/": "leaflet/",
    "https://unpkg.com/leaflet.markercluster/dist/": "leaflet.markercluster/",
    "https://unpkg.com/leaflet.vectorgrid@latest/dist/": "leaflet.vectorgrid/",
    "https://unpkg.com/swagger-ui-dist/": "swagger-ui-dist/",
}
"""pygeoapi 0.21's CDN URLs and our copies (versions pinned in ``geoservice/package.json``).
A URL no prefix matches is removed: ``tests/geoservice/test_html_pages.py`` fails when a
pygeoapi upgrade brings one into a page we serve."""

BLANK_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
"""A transparent 1x1 GIF: pygeoapi's maps always add a tile layer; without a configured base
map every tile is this image, so features are drawn on Leaflet's plain grey background."""

_LOADING_RELS = frozenset({"stylesheet", "icon", "apple-touch-icon", "mask-icon", "preload",
                           "modulepreload", "prefetch", "prerender", "preconnect",
                           "dns-prefetch", "manifest"})
_URL_ATTRS = ("src", "srcset", "poster", "data")

_COND_COMMENT = re.compile(r"<!--\[if[^\]]*\]>.*?<!\[endif\]-->", re.I | re.S)
_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>\s*)</script\s*>", re.I)
_INLINE_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.I | re.S)
_LINK = re.compile(r"<link\b(?P<attrs>[^>]*)>", re.I)
_OTHER = re.compile(r"<(?P<name>img|iframe|frame|embed|object|source|audio|video|track|input)"
                    r"\b(?P<attrs>[^>]*)>", re.I)
_ATTR = re.compile(r"""(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'"""
                   r"""|(?P<uq>[^\s"'=<>`]+)))?""")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_SWAGGER = "SwaggerUIBundle({"
_VECTORGRID_SHIM = (
    "<script>/* lpt: Leaflet.VectorGrid 1.3 calls L.DomEvent.fakeStop, gone in Leaflet 1.8+ */"
    " if (window.L && L.DomEvent && !L.DomEvent.fakeStop) "
    "{ L.DomEvent.fakeStop = L.DomEvent.stopPropagation; }</script>")


def local_asset(url: str) -> str | None:
    """The path under ``static/vendor/`` of a CDN URL of :data:`ASSETS` (None: not one).

    >>> local_asset("https://unpkg.com/leaflet@1.3.1/dist/leaflet.js")
    'leaflet/leaflet.js'
    >>> local_asset("https://unpkg.com/swagger-ui-dist/swagger-ui-bundle.js")
    'swagger-ui-dist/swagger-ui-bundle.js'
    >>> local_asset("https://fonts.googleapis.com/css?family=Montserrat") is None
    True
    """
    for prefix in sorted(ASSETS, key=len, reverse=True):
        if url.startswith(prefix):
            rest = url[len(prefix):].split("?", 1)[0].split("#", 1)[0]
            if rest and ".." not in rest.split("/"):
                return ASSETS[prefix] + rest
    return None


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an absolute or scheme-relative URL; None for a relative one."""
    u = url.strip()
    if u.startswith("//"):
        parts = urlsplit("http:" + u)
        scheme = ""
    elif _SCHEME.match(u):
        parts = urlsplit(u)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https", "ws", "wss", "ftp"):
            return (scheme, "", None)  # data:, blob:, javascript:, mailto: ...
    else:
        return None
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None and scheme:
        port = {"http": 80, "ws": 80, "https": 443, "wss": 443, "ftp": 21}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port)


def is_external(url: str, own: Iterable[str] = ()) -> bool:
    """Whether loading ``url`` would leave the service (``own``: the service's base URLs).

    ``data:`` and ``blob:`` stay in the page; relative URLs and the service's own origins
    are ours; anything else (another host, ``javascript:``...) is external.

    >>> is_external("https://unpkg.com/x.js"), is_external("/static/css/default.css")
    (True, False)
    >>> is_external("http://127.0.0.1:5000/static/img/logo.png", own=["http://127.0.0.1:5000"])
    False
    >>> is_external("//cdn.example/x.js"), is_external("data:image/png;base64,AA==")
    (True, False)
    """
    o = _origin(url)
    if o is None:
        return False
    scheme, host, port = o
    if not host:
        return scheme not in ("data", "blob")
    for base in own:
        b = _origin(base)
        if b is None or b[1] != host:
            continue
        if (scheme, port) == (b[0], b[2]) or (not scheme and port in (None, b[2])):
            return False
    return True


def _attrs(text: str) -> list[tuple[str, str | None, re.Match]]:
    out = []
    for m in _ATTR.finditer(text):
        value = next((m.group(g) for g in ("dq", "sq", "uq") if m.group(g) is not None), None)
        out.append((m.group("name").lower(), html.unescape(value) if value is not None else None,
                    m))
    return out


def _attr(attrs: list[tuple[str, str | None, re.Match]], name: str) -> str | None:
    return next((v for n, v, _ in attrs if n == name), None)


def _replace_attr_value(tag: str, attrs_text: str, start: int, m: re.Match, value: str) -> str:
    """``tag`` with one attribute's value replaced (``start``: where ``attrs_text`` begins)."""
    a, b = m.span()
    new = f'{m.group("name")}="{html.escape(value, quote=True)}"'
    return tag[:start + a] + new + tag[start + b:]


def _host(url: str) -> str:
    o = _origin(url)
    return html.escape(o[1] or o[0]) if o else "?"


def localise(text: str, *, own: Iterable[str] = (), vendor: str = VENDOR_URL) -> str:
    """``text`` (an HTML page) with every CDN URL of :data:`ASSETS` pointing at our copy
    under ``vendor`` and every other external resource removed or neutralised.

    ``own``: the service's base URLs (pygeoapi writes absolute URLs to its own ``/static``).
    Links (``<a href>``, ``<link rel=license>`` ...) are left alone: they load nothing.

    >>> localise('<script src="https://unpkg.com/leaflet@1.3.1/dist/leaflet.js"></script>')
    '<script src="/app/vendor/leaflet/leaflet.js"></script>'
    >>> localise('<link rel="stylesheet" href="https://fonts.googleapis.com/css?f=M">')
    '<!-- lpt: removed external stylesheet (fonts.googleapis.com) -->'
    >>> localise('<img src="https://x.example/a.png" alt="a">')
    '<img data-lpt-blocked-src="https://x.example/a.png" alt="a">'
    """
    own = tuple(own)
    vendor = vendor.rstrip("/")
    text = _COND_COMMENT.sub("", text)

    def vendored(m: re.Match, name: str) -> tuple[list, str | None, str | None]:
        """The tag's attributes, its ``name`` URL and, when we hold a copy of that URL, the
        tag pointing at the copy (else None)."""
        attrs = _attrs(m.group("attrs"))
        url = _attr(attrs, name)
        local = local_asset(url.strip()) if url is not None else None
        if local is None:
            return attrs, url, None
        am = next(a for n, _, a in attrs if n == name)
        new = _replace_attr_value(m.group(0), m.group("attrs"), m.start("attrs") - m.start(),
                                  am, f"{vendor}/{local}")
        return attrs, url, new + (_VECTORGRID_SHIM if local.startswith("leaflet.vectorgrid/")
                                  else "")

    def script(m: re.Match) -> str:
        _, src, new = vendored(m, "src")
        if new is not None:
            return new
        if src is not None and is_external(src, own):
            return f"<!-- lpt: removed external script ({_host(src)}) -->"
        return m.group(0)

    def link(m: re.Match) -> str:
        attrs, href, new = vendored(m, "href")
        if new is not None:
            return new
        tag = m.group(0)
        if href is None:
            return tag
        rels = set((_attr(attrs, "rel") or "").lower().split())
        if rels & _LOADING_RELS and is_external(href, own):
            kind = "stylesheet" if "stylesheet" in rels else sorted(rels & _LOADING_RELS)[0]
            return f"<!-- lpt: removed external {kind} ({_host(href)}) -->"
        return tag

    def other(m: re.Match) -> str:
        tag = m.group(0)
        offset = m.start("attrs") - m.start()
        for name, value, am in reversed(_attrs(m.group("attrs"))):
            if name not in _URL_ATTRS or value is None:
                continue
            urls = ([c.strip().split()[0] for c in value.split(",") if c.strip()]
                    if name == "srcset" else [value])
            if any(is_external(u, own) for u in urls):
                a = offset + am.start("name")
                tag = tag[:a] + "data-lpt-blocked-" + tag[a:]
        return tag

    text = _SCRIPT.sub(script, text)
    text = _LINK.sub(link, text)
    text = _OTHER.sub(other, text)
    if _SWAGGER in text and "validatorUrl" not in text:
        # Swagger UI's "online validator" badge would send the document's URL to swagger.io
        text = text.replace(_SWAGGER, _SWAGGER + "\n        validatorUrl: null,", 1)
    return text


def inline_script_hashes(text: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for every inline ``<script>`` of a page, in
    page order, duplicates once: what a browser hashes is the exact text between the tags.

    >>> inline_script_hashes('<script src="/a.js"></script><script>alert(1)</script>')
    ["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
    """
    out: list[str] = []
    for m in _INLINE_SCRIPT.finditer(text):
        if _attr(_attrs(m.group("attrs")), "src") is not None:
            continue
        digest = hashlib.sha256(m.group("body").encode("utf-8")).digest()
        h = f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
        if h not in out:
            out.append(h)
    return out


def content_security_policy(basemap_url: str | None = None,
                            scripts: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of pygeoapi's HTML pages.

    Only the service itself (``'self'``), plus ``data:`` images (Leaflet's and Bootstrap's
    inline icons, :data:`BLANK_TILE`) and the configured base map's tile server. pygeoapi's
    templates build each page's map, and start Swagger UI, in inline script elements: those
    are allowed by their hashes (``scripts``, from :func:`inline_script_hashes` of the page
    served), so a script injected into a page (a popup showing a stored text as HTML, say)
    does not run. Inline styles stay allowed (``'unsafe-inline'``: style attributes are all
    over the templates and run no code); never ``'unsafe-eval'``.

    >>> "img-src 'self' data: https://*.tiles.example;" in content_security_policy(
    ...     "https://{s}.tiles.example/{z}/{x}/{y}.png")
    True
    >>> content_security_policy(scripts=["'sha256-x'"]).split("; ")[1]
    "script-src 'self' 'sha256-x'"
    """
    img = "'self' data:"
    if basemap_url:
        u = urlsplit(basemap_url)
        img += f" {u.scheme}://{u.netloc.replace('{s}', '*')}"
    script = " ".join(["'self'", *scripts])
    return (f"default-src 'self'; script-src {script}; "
            "style-src 'self' 'unsafe-inline'; "
            f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
            "frame-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def _js_html(text: str) -> str:
    """HTML for pygeoapi's ``attribution: '{{ ... | safe }}'``: safe in a single-quoted
    JavaScript string inside ``<script>`` (no quote, backslash, newline or ``</`` breaks it)."""
    return (text.replace("\\", "&#92;").replace("'", "&#39;").replace("\r", " ")
            .replace("\n", " ").replace("</", "<\\/").replace("<!--", "<\\!--"))


def map_section(basemap: tuple[str, str] | None, lines: Iterable[str] = ()) -> dict[str, str]:
    """pygeoapi's ``server.map``: the base map's tile URL (:data:`BLANK_TILE` when none is
    configured) and the attribution shown on the map: the base map's (operator HTML) and the
    data's lines (plain text, escaped), joined by ``|``.

    >>> map_section(None, ["Contains OS data © Crown copyright"])["attribution"]
    'Contains OS data © Crown copyright'
    >>> m = map_section(("https://t.example/{z}/{x}/{y}.png", "&copy; Tiles"), ["It's <ours>"])
    >>> m["attribution"]
    '&copy; Tiles | It&#x27;s &lt;ours&gt;'
    >>> map_section(None) == {"url": BLANK_TILE, "attribution": ""}
    True
    """
    parts = [_js_html(basemap[1])] if basemap else []
    parts += [_js_html(html.escape(str(line), quote=True)) for line in lines if line]
    return {"url": basemap[0] if basemap else BLANK_TILE, "attribution": " | ".join(parts)}


_JS_SAFE = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
            0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_safe_json(dict_: Any, pretty: bool = False) -> str:
    """pygeoapi's ``to_json`` with ``<``, ``>``, ``&`` and the JavaScript line separators
    escaped: pygeoapi's templates write features into inline scripts
    (``var geojson_data = {{ data | to_json | safe }}``), and a stored text holding
    ``</script><script>…`` would otherwise end the page's script and start one of its own
    (which the per-page script hashes would then allow). Still JSON, decoding to the same
    values.

    >>> print(script_safe_json({"notes": "</script><script>x()</script>"}))
    {"notes":"\\u003c/script\\u003e\\u003cscript\\u003ex()\\u003c/script\\u003e"}
    """
    from pygeoapi.util import json_serial

    text = json.dumps(dict_, default=json_serial, indent=4 if pretty else None,
                      separators=(",", ":"))
    return text.translate(_JS_SAFE)


def install(app: Any, cfg: Any) -> None:
    """Localise every ``text/html`` answer outside ``/app/`` and give it the policy headers;
    pygeoapi's templates embed JSON with :func:`script_safe_json`."""
    import pygeoapi.util
    from flask import request
    from werkzeug.datastructures import Headers

    # render_j2_template looks the filter up in pygeoapi.util when it renders; the API's
    # JSON answers use their own imported to_json and stay as they were.
    pygeoapi.util.to_json = script_safe_json

    basemap = cfg.basemap[0] if getattr(cfg, "basemap", None) else None
    own = [cfg.url] if getattr(cfg, "url", None) else []
    pygeoapi_app = sys.modules.get("pygeoapi.flask_app")
    pg_url = (getattr(pygeoapi_app, "CONFIG", None) or {}).get("server", {}).get("url")
    if pg_url:
        own.append(pg_url)

    @app.after_request
    def _lpt_html_assets(response):
        if not isinstance(response.headers, Headers):  # pygeoapi assigns a plain dict
            response.headers = Headers(response.headers)
        if response.mimetype != "text/html" or request.path == "/app" \
                or request.path.startswith("/app/"):
            return response
        hashes: list[str] = []
        if not (response.is_streamed or response.direct_passthrough
                or response.headers.get("Content-Encoding")):
            body = response.get_data(as_text=True)
            new = localise(body, own=[*own, request.host_url])
            if new != body:
                response.set_data(new)
            hashes = inline_script_hashes(new)
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(basemap, hashes))
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
