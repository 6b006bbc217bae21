# SPDX-License-Identifier: GPL-3.0-or-later
"""Pages of a computed collection written from features already in JSON (issue 13: pages
that never repeat at 32 clients): the answer is byte for byte the page pygeoapi writes from
features built as dicts, in every variant (sorting, CRS, skipGeometry, scope, the last page),
other formats are untouched, and the format is decided as pygeoapi decides it."""
from __future__ import annotations

import json

import pytest

from geoservice.providers.scores import ScoreProvider

ITEMS = "/collections/street_scores/items"
ALL = ",".join(ScoreProvider.field_types)  # properties=ALL: the features built as dicts


def _features(body: bytes) -> bytes:
    """The ``"features": [...]`` part of a pygeoapi JSON page, as written."""
    return body[body.index(b'"features":'):body.index(b',"numberMatched"')]


def _rels(body: bytes) -> list[str]:
    return sorted(link["rel"] for link in json.loads(body)["links"])


@pytest.mark.parametrize("query", [
    "limit=30&offset=7",
    "limit=25&sortby=-score,name",
    "limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/27700",
    "limit=12&skipGeometry=true",
    "limit=40&offset=1000000",
])
def test_a_json_page_is_the_page_pygeoapi_writes_from_dicts(service, query):
    token = service.token("force_analyst")
    status, headers, fast = service.get(f"{ITEMS}?f=json&{query}", token=token)
    assert status == 200, fast[:300]
    status, _, slow = service.get(f"{ITEMS}?f=json&{query}&properties={ALL}", token=token)
    assert status == 200, slow[:300]
    assert _features(fast) == _features(slow)
    a, b = json.loads(fast), json.loads(slow)
    assert (a["numberMatched"], a["numberReturned"]) == (b["numberMatched"], b["numberReturned"])
    assert _rels(fast) == _rels(slow)
    assert headers["Content-Type"].startswith("application/geo+json")


def test_a_beat_officers_last_full_page_keeps_pygeoapis_links(service):
    beat = "beat:DM01B01"
    token = service.token("beat_officer", [beat])
    n = service.json(f"{ITEMS}?f=json&limit=1", token=token)[1]["numberMatched"]
    assert n > 5
    last = f"{ITEMS}?f=json&limit=5&offset={n - 5}"  # exactly full: pygeoapi adds a next link
    _, _, fast = service.get(last, token=token)
    _, _, slow = service.get(f"{last}&properties={ALL}", token=token)
    assert _features(fast) == _features(slow)
    assert _rels(fast) == _rels(slow)
    assert {f["properties"]["beat_id"] for f in json.loads(fast)["features"]} == {beat}


def test_the_format_comes_from_accept_as_pygeoapi_decides(service):
    token = service.token("force_analyst")
    _, _, by_f = service.get(f"{ITEMS}?f=json&limit=3", token=token)
    status, headers, by_accept = service.get(f"{ITEMS}?limit=3", token=token,
                                             headers={"Accept": "application/geo+json"})
    assert status == 200 and _features(by_accept) == _features(by_f)
    ids = [f["id"] for f in json.loads(by_f)["features"]]
    status, headers, html = service.get(f"{ITEMS}?limit=3", token=token,
                                        headers={"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"lpt-feature-" not in html and all(i.encode() in html for i in ids)
    status, _, ld = service.get(f"{ITEMS}?f=jsonld&limit=3", token=token)
    assert status == 200 and b"lpt-feature-" not in ld
    assert len(json.loads(ld)["features"]) == 3
    status, _, csv = service.get(f"{ITEMS}?f=csv&limit=3", token=token)
    assert status == 200 and b"lpt-feature-" not in csv
    assert all(i.encode() in csv for i in ids)


@pytest.mark.parametrize("args,accept", [
    ("", None), ("f=json", "text/html"), ("f=html", None), ("f=csv", None),
    ("f=jsonld", None), ("", "text/html"), ("", "application/geo+json, application/json"),
    ("", "application/ld+json"), ("", "text/html;q=0.5, application/json"),
    ("", "image/png, */*"), ("f=", "text/html"),
])
def test_answers_json_agrees_with_pygeoapis_format(args, accept):
    from flask import Flask, request
    from pygeoapi.api import APIRequest

    from geoservice.providers._features import answers_json

    headers = {"Accept": accept} if accept else {}
    with Flask(__name__).test_request_context(f"/items?{args}", headers=headers):
        fmt = APIRequest.from_flask(request, ["en-GB"]).format
        assert answers_json() == (fmt not in ("html", "csv", "jsonld"))
    assert answers_json() is False  # outside a request: features are built as dicts


def test_an_answer_without_its_markers_is_an_error_not_a_short_page():
    from flask import Flask

    from geoservice.providers._features import json_page

    app = Flask(__name__)
    with app.test_request_context("/items?f=json"):
        marks = json_page([b'{"id":"a"}', b'{"id":"b"}'])
        body = json.dumps({"features": marks, "n": 2}, separators=(",", ":"))
        filled = app.process_response(app.response_class(body))
        assert json.loads(filled.get_data()) == {"features": [{"id": "a"}, {"id": "b"}],
                                                 "n": 2}
    with app.test_request_context("/items?f=json"):
        json_page([b'{"id":"a"}'])
        with pytest.raises(RuntimeError, match="0 feature markers"):
            app.process_response(app.response_class('{"features":[]}'))
