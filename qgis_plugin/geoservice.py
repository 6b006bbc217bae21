# SPDX-License-Identifier: GPL-3.0-or-later
"""Connecting to a running ``lpt serve`` geoservice: its OGC API collections as OAPIF layers.

Authentication, three ways:

- an **existing QGIS authentication configuration** (``authcfg``, for example OAuth2 against
  the force's identity provider): it goes into each layer's URI, and QGIS's OAPIF provider
  (3.22+) signs every request with it;
- an **API key** (header ``X-API-Key``) or a **bearer token** (``Authorization: Bearer …``):
  QGIS 3.22 has no authentication method that sends such a header, so the secret is stored
  encrypted in the QGIS authentication database (a configuration named ``LPT geoservice
  <url>``, method ``EsriToken`` used only as storage) and a network request pre-processor
  adds the header to the requests for that service's URL, and to no other.

Every connection is remembered in the plugin's settings (URL, kind, configuration id and
purpose; never the secret) and :func:`restore_connections`, called when the plugin loads,
installs the headers again from the authentication database: layers saved in a project keep
working after QGIS restarts. An OAuth2 configuration (method ``OAuth2`` of QGIS's
authentication manager; :func:`store_oauth2` makes one) needs nothing restored but the
purpose: QGIS signs each request of a layer whose URI names it, fetching and refreshing the
token itself.

An optional purpose (header ``X-Purpose``) is sent too: the geoservice requires it for
personal data and writes it to its audit log.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from qgis.core import (
    QgsApplication,
    QgsAuthMethodConfig,
    QgsBlockingNetworkRequest,
    QgsDataSourceUri,
    QgsNetworkAccessManager,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtNetwork import QNetworkRequest

from . import settings

__all__ = ["AUTH_KINDS", "Collection", "base_url", "store_secret", "load_secret",
           "install_headers", "remove_headers", "headers_for", "list_collections", "oapif_uri",
           "collection_layer", "restore_connections", "store_oauth2", "OAUTH2_FLOWS"]

AUTH_KINDS = ("none", "api_key", "bearer", "authcfg")
CONFIG_PREFIX = "LPT geoservice "
_METHOD = "EsriToken"  # an auth method whose configuration holds one secret ("token")

_lock = threading.Lock()
_headers: dict[str, dict[str, str]] = {}  # base URL -> headers to add
_preprocessor_id: list[str] = []


@dataclass(frozen=True)
class Collection:
    """One collection of the service: id, title and whether it has features."""

    id: str
    title: str
    item_type: str


def base_url(url: str) -> str:
    """The service's base URL without a trailing slash (``http://host:port[/path]``)."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the geoservice URL must start with http:// or https://, got {url!r}")
    return url.rstrip("/")


def _headers_of(kind: str, secret: str, purpose: str | None) -> dict[str, str]:
    out = {}
    if kind == "api_key":
        out["X-API-Key"] = secret
    elif kind == "bearer":
        out["Authorization"] = f"Bearer {secret}"
    if purpose:
        out["X-Purpose"] = purpose
    return out


def store_secret(url: str, kind: str, secret: str, authcfg: str | None = None) -> str:
    """Store an API key or bearer token for ``url`` in the QGIS authentication database
    (encrypted with the master password); returns the configuration id."""
    if kind not in ("api_key", "bearer"):
        raise ValueError(f"only an api_key or a bearer token is stored, not {kind!r}")
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig(_METHOD)
    if authcfg:
        manager.loadAuthenticationConfig(authcfg, config, True)
        config.setMethod(_METHOD)
    config.setName(CONFIG_PREFIX + base_url(url))
    config.setUri(base_url(url))
    config.setConfig("token", secret)
    config.setConfig("lpt_kind", kind)
    if authcfg:
        config.setId(authcfg)
        ok = manager.updateAuthenticationConfig(config)
    else:
        ok = manager.storeAuthenticationConfig(config)
        if isinstance(ok, tuple):  # the Python binding returns (ok, config) in some versions
            ok, config = ok
    if not ok or not config.id():
        raise RuntimeError("could not store the secret in the QGIS authentication database "
                           "(is the master password set?)")
    old = settings.saved_connections().get(base_url(url), {})
    settings.save_connection(base_url(url), kind, config.id(), old.get("purpose"))
    return config.id()


def load_secret(authcfg: str) -> tuple[str, str, str]:
    """``(url, kind, secret)`` of a configuration made by :func:`store_secret`."""
    config = QgsAuthMethodConfig()
    ok = QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True)
    if not ok or not config.config("lpt_kind"):
        raise KeyError(f"authentication configuration {authcfg!r} is not a stored geoservice "
                       "key or token")
    return config.uri(), config.config("lpt_kind"), config.config("token")


def _preprocess(request: QNetworkRequest) -> None:
    url = request.url().toString()
    with _lock:
        for base, headers in _headers.items():
            if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
                for name, value in headers.items():
                    request.setRawHeader(name.encode("latin-1"), value.encode("latin-1"))
                return


def _clear_cache() -> None:
    # QGIS caches HTTP answers by URL, not by credentials: after a change of credentials a
    # cached answer given to someone else must not be served.
    cache = QgsNetworkAccessManager.instance().cache()
    if cache is not None:
        cache.clear()


def install_headers(url: str, kind: str, secret: str = "", purpose: str | None = None,
                    authcfg: str | None = None) -> None:
    """Send the credentials (and purpose) with every request to ``url`` from now on, and
    remember the connection (``authcfg``: the configuration holding the secret, or the one
    layers name; kept when not given) so that :func:`restore_connections` installs it again
    after a restart."""
    headers = _headers_of(kind, secret, purpose)
    old = settings.saved_connections().get(base_url(url), {})
    if kind != "none" or old:
        settings.save_connection(base_url(url), kind, authcfg or old.get("authcfg"), purpose)
    with _lock:
        if _headers.get(base_url(url)) != (headers or None):
            _clear_cache()
        if headers:
            _headers[base_url(url)] = headers
        else:
            _headers.pop(base_url(url), None)
        if not _preprocessor_id:
            _preprocessor_id.append(QgsNetworkAccessManager.setRequestPreprocessor(_preprocess))


def remove_headers(url: str | None = None) -> None:
    """Stop sending credentials to ``url`` (None: to every service)."""
    with _lock:
        _clear_cache()
        if url is None:
            _headers.clear()
        else:
            _headers.pop(base_url(url), None)


def headers_for(url: str) -> dict[str, str]:
    """The headers installed for a URL (names only matter to tests)."""
    with _lock:
        return dict(_headers.get(base_url(url), {}))


def list_collections(url: str, authcfg: str | None = None, feedback=None) -> list[Collection]:
    """The service's collections (``GET /collections?f=json``), through QGIS's network
    manager: proxies, the installed headers and ``authcfg`` apply."""
    request = QgsBlockingNetworkRequest()
    if authcfg:
        request.setAuthCfg(authcfg)
    qurl = QUrl(base_url(url) + "/collections?f=json")
    req = QNetworkRequest(qurl)
    req.setRawHeader(b"Accept", b"application/json")
    error = request.get(req, forceRefresh=True, feedback=feedback)
    reply = request.reply()
    status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
    body = bytes(reply.content()).decode("utf-8", "replace")
    if error != QgsBlockingNetworkRequest.NoError or (status and int(status) >= 400):
        detail = body.strip()[:300] or request.errorMessage()
        raise ConnectionError(f"{qurl.toString()} answered {status or 'nothing'}: {detail}")
    data = json.loads(body)
    return [Collection(c["id"], c.get("title") or c["id"], c.get("itemType", "feature"))
            for c in data.get("collections", [])]


def oapif_uri(url: str, collection: str, authcfg: str | None = None,
              restrict_to_view: bool = True) -> str:
    """The OAPIF provider URI of a collection (``url='…' typename='…' [authcfg=…]``);
    ``restrict_to_view`` asks only for the features of the map view (large collections)."""
    uri = QgsDataSourceUri()
    uri.setParam("url", base_url(url))
    uri.setParam("typename", collection)
    if restrict_to_view:
        uri.setParam("restrictToRequestBBOX", "1")
    if authcfg:
        uri.setAuthConfigId(authcfg)
    return uri.uri(False)


def collection_layer(url: str, collection: Collection, authcfg: str | None = None,
                     restrict_to_view: bool = True) -> QgsVectorLayer:
    return QgsVectorLayer(oapif_uri(url, collection.id, authcfg, restrict_to_view),
                          collection.title, "OAPIF")


def restore_connections(log=None) -> list[str]:
    """Install the headers of every saved connection again (at plugin load: QGIS forgets
    the request pre-processor when it quits). A key or token is read from the
    authentication database (QGIS asks for the master password if it is not set yet); a
    connection whose configuration is gone or cannot be read is reported to ``log`` and
    skipped. Returns the URLs restored."""
    done = []
    for url, saved in settings.saved_connections().items():
        kind, authcfg = saved.get("kind", "none"), saved.get("authcfg") or None
        purpose = saved.get("purpose") or None
        try:
            secret = ""
            if kind in ("api_key", "bearer"):
                if not authcfg:
                    raise KeyError("no authentication configuration saved")
                _, kind, secret = load_secret(authcfg)
            install_headers(url, kind, secret, purpose, authcfg)
        except (KeyError, ValueError) as exc:
            if log is not None:
                log(f"geoservice {url}: credentials not restored ({exc})")
            continue
        done.append(url)
    return done


OAUTH2_FLOWS = {"authorization_code": 0, "implicit": 1, "resource_owner": 2}
"""Grant flows of QGIS 3.22's OAuth2 method (``QgsAuthOAuth2Config.GrantFlow``)."""


def store_oauth2(name: str, token_url: str, client_id: str, *, flow: str = "authorization_code",
                 request_url: str = "", client_secret: str = "", scope: str = "",
                 username: str = "", password: str = "", redirect_port: int = 7070,
                 persist_token: bool = False) -> str:
    """An OAuth2 configuration (QGIS's ``OAuth2`` authentication method) for the force's
    identity provider, stored encrypted in the authentication database; returns its id, to
    give as ``AUTHCFG`` with ``AUTH`` = authentication configuration. ``flow``: one of
    :data:`OAUTH2_FLOWS` (officers at a desk: ``authorization_code``, which opens the
    browser; a service account: ``resource_owner``). The access token is sent as
    ``Authorization: Bearer`` and refreshed by QGIS."""
    if flow not in OAUTH2_FLOWS:
        raise ValueError(f"flow must be one of {sorted(OAUTH2_FLOWS)}, got {flow!r}")
    oauth2 = {
        "accessMethod": 0, "apiKey": "", "clientId": client_id, "clientSecret": client_secret,
        "configType": 1, "customHeader": "", "description": "", "grantFlow": OAUTH2_FLOWS[flow],
        "id": "", "name": name, "objectName": "", "password": password,
        "persistToken": persist_token, "queryPairs": {}, "redirectPort": redirect_port,
        "redirectUrl": "", "refreshTokenUrl": "", "requestTimeout": 30,
        "requestUrl": request_url or token_url, "scope": scope, "tokenUrl": token_url,
        "username": username, "version": 1}
    config = QgsAuthMethodConfig("OAuth2")
    config.setName(name)
    config.setConfig("oauth2config", json.dumps(oauth2))
    ok = QgsApplication.authManager().storeAuthenticationConfig(config)
    if isinstance(ok, tuple):
        ok, config = ok
    if not ok or not config.id():
        raise RuntimeError("could not store the OAuth2 configuration in the QGIS "
                           "authentication database (is the master password set?)")
    return config.id()
