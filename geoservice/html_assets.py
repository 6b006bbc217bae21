# SPDX-License-Identifier: GPL-3.0-or-later
"""pygeoapi's own HTML pages, served entirely by us: no CDN, no third-party tile server.

pygeoapi's templates (``?f=html`` on the landing page, collections, items, an item, tiles,
and the Swagger UI of ``/openapi?f=html``) load Bootstrap, Leaflet, leaflet.markercluster,
Leaflet.VectorGrid and swagger-ui-dist from unpkg.com (and html5shiv, fonts and others from
cdnjs, jsdelivr and fonts.googleapis.com). On a police network those pages break, and a
personal collection's page would tell the CDN which records an officer is looking at. So:

- ``geoservice/templates/`` holds our versions of the pygeoapi templates that load anything
  (pygeoapi's ``server.templates.path``, set in :func:`geoservice.config.pygeoapi_config`;
  pygeoapi uses its own for the others): they load our copies under :data:`VENDOR_URL`
  (``geoservice/vendor.js`` copies the npm packages there on ``npm ci``), nothing else from
  elsewhere, and write the data of inline scripts with ``script_json``
  (``templates/lpt/script_json.html``: ``<``, ``>``, ``&`` escaped, so a stored
  ``</script><script>`` cannot start a script). Each names the pygeoapi template it came from
  and its hash (``tests/geoservice/test_html_pages.py`` fails when a pygeoapi upgrade changes
  one, or brings an external resource into a page we serve);
- :func:`install` registers an ``after_request`` hook that gives every ``text/html`` answer
  outside ``/app/`` (the officer page has its own policy) :func:`content_security_policy`
  with the hashes of the page's inline scripts, ``Referrer-Policy: no-referrer`` and
  ``nosniff``; the page itself is not changed;
- :func:`map_section` is pygeoapi's ``server.map``: no base map unless the service YAML has
  ``server.basemap`` (then its tiles and attribution), and the attribution lines of the data
  shown, the same as the officer page's (:func:`geoservice.config.data_attribution_lines`).
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["VENDOR_URL", "BLANK_TILE", "content_security_policy", "inline_script_hashes",
           "map_section", "install"]

VENDOR_URL = "/app/vendor"
"""Where the officer page's route serves ``geoservice/static/vendor/`` (the templates'
scripts and stylesheets)."""

BLANK_TILE = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
"""A transparent 1x1 GIF: pygeoapi's maps always add a tile layer; without a configured base
map every tile is this image, so features are drawn on Leaflet's plain grey background."""

_INLINE_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.I | re.S)
_ATTR = re.compile(r"""(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")


def inline_script_hashes(text: str) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for every inline ``<script>`` of a page, in
    page order, duplicates once: what a browser hashes is the exact text between the tags.

    >>> inline_script_hashes('<script src="/a.js"></script><script>alert(1)</script>')
    ["'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='"]
    """
    out: list[str] = []
    for m in _INLINE_SCRIPT.finditer(text):
        if any(a.group("name").lower() == "src" for a in _ATTR.finditer(m.group("attrs"))):
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


def install(app: Any, cfg: Any) -> None:
    """Give every ``text/html`` answer outside ``/app/`` the policy headers (its inline
    scripts allowed by their hashes); the page is served as pygeoapi rendered it."""
    from flask import request
    from werkzeug.datastructures import Headers

    basemap = cfg.basemap[0] if getattr(cfg, "basemap", None) else None

    @app.after_request
    def _lpt_html_policy(response):
        if not isinstance(response.headers, Headers):  # pygeoapi assigns a plain dict
            response.headers = Headers(response.headers)
        if response.mimetype != "text/html" or request.path == "/app" \
                or request.path.startswith("/app/"):
            return response
        hashes: list[str] = []
        if not (response.is_streamed or response.direct_passthrough
                or response.headers.get("Content-Encoding")):
            hashes = inline_script_hashes(response.get_data(as_text=True))
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(basemap, hashes))
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
