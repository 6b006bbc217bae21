# SPDX-License-Identifier: GPL-3.0-or-later
"""The officer map page: its files, its configuration and the demo sign-in.

Routes added to the service's Flask app by :func:`register`:

- ``GET /app/`` — the page (``geoservice/static/index.html``), and ``GET /app/<file>`` its
  scripts, styles and the vendored npm packages (``static/vendor/``, copied from
  ``node_modules`` at build time by ``npm ci``). Every asset comes from the service; the
  Content-Security-Policy allows nothing else, so a stray CDN reference fails loudly;
- ``GET /app/config.json`` — what the page needs to know: how to sign in (demo users, or the
  force's OpenID Connect endpoints for the authorisation-code + PKCE flow), the visit outcome
  vocabulary and the attributions of the data shown;
- ``GET /auth/demo/users`` and ``POST /auth/demo-login`` — only when the service YAML has an
  ``auth.demo_idp`` section (:mod:`geoservice.demo_idp`); 404 otherwise.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from spatial_core.api.attribution import MAP_LINES, data_attributions

from .config import ServiceConfig, page_settings, raw_config

__all__ = ["register", "attributions", "STATIC", "ATTRIBUTION_LINES"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"

ATTRIBUTION_LINES = MAP_LINES
"""The attribution lines the data's licences ask for (:mod:`spatial_core.api.attribution`)."""

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'self'; frame-ancestors 'none'; form-action 'self'")


def attributions(store: Any) -> list[str]:
    """Attribution lines for the data in ``store``
    (:func:`spatial_core.api.attribution.data_attributions`, map form)."""
    return data_attributions(store, "map")


_raw_yaml = raw_config
"""The service YAML, read once (:func:`geoservice.config.raw_config`)."""
_page_settings = page_settings
"""``server.page.attributions`` and ``auth.page_client``
(:func:`geoservice.config.page_settings`)."""


def register(app: Any, cfg: ServiceConfig) -> None:
    """Add the page, its configuration and (when configured) the demo sign-in to ``app``."""
    from flask import jsonify, redirect, request, send_from_directory

    from spatial_core.io.visits import VISIT_OUTCOMES

    from . import stores
    from .demo_idp import load_demo_idp

    idp = load_demo_idp(cfg)
    configured_lines, client = _page_settings(cfg)
    csp = CSP
    if client:  # the page posts the authorisation code to the provider's token endpoint
        from urllib.parse import urlsplit

        u = urlsplit(client["token_endpoint"])
        csp = CSP.replace("connect-src 'self'", f"connect-src 'self' {u.scheme}://{u.netloc}")

    # The page checks the issuer named in the authorisation response (RFC 9207).
    oidc_client = ({**client, "issuer": cfg.oidc.issuer if cfg.oidc else None}
                   if client else None)

    def page_config():
        lines = configured_lines
        if lines is None:
            lines = stores.cached(("attributions", cfg.store), 300,
                                  lambda: attributions(stores.store(cfg.store)))
        body = {
            "title": cfg.title,
            "auth": {"demo": idp is not None, "oidc": oidc_client,
                     "role_claim": cfg.oidc.role_claim if cfg.oidc else "role",
                     "areas_claim": cfg.oidc.areas_claim if cfg.oidc else "areas"},
            "outcomes": VISIT_OUTCOMES,
            "require_purpose": cfg.require_purpose,
            "attributions": lines,
        }
        resp = jsonify(body)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    def index():
        return _file("index.html")

    def asset(name: str):
        return _file(name)

    def _file(name: str):
        resp = send_from_directory(STATIC, name, max_age=0 if name.endswith(".html") else 300)
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    app.add_url_rule("/app", "lpt_page_root", lambda: redirect("/app/", 308))
    app.add_url_rule("/app/", "lpt_page", index, methods=["GET"])
    app.add_url_rule("/app/config.json", "lpt_page_config", page_config, methods=["GET"])
    app.add_url_rule("/app/<path:name>", "lpt_page_asset", asset, methods=["GET"])

    def demo_users():
        if idp is None:
            return jsonify({"code": "NotFound", "description": "no demo sign-in here"}), 404
        return jsonify({"users": [u.public() for u in idp.users.values()]})

    def demo_login():
        if idp is None:
            return jsonify({"code": "NotFound", "description": "no demo sign-in here"}), 404
        data = request.get_json(silent=True) if request.is_json else request.form
        sub = str((data or {}).get("sub") or "")
        if sub not in idp.users:
            return jsonify({"code": "InvalidParameterValue",
                            "description": f"no demo user {sub!r}; choose one of "
                                           f"{sorted(idp.users)}"}), 400
        log.info("demo sign-in", extra={"fields": {"sub": sub}})
        resp = jsonify(idp.issue(sub))
        resp.headers["Cache-Control"] = "no-store"
        return resp

    app.add_url_rule("/auth/demo/users", "lpt_demo_users", demo_users, methods=["GET"])
    app.add_url_rule("/auth/demo-login", "lpt_demo_login", demo_login, methods=["POST"])
