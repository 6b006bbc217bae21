# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:engagement and lpt:actions_log in a real QgsApplication, on the demo force (whose
history has messages, replies, opt-outs, survey waves and actions), against spatial_core."""
from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    """The demo force (about 5,000 households) in a GeoPackage store."""
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo"), households=5_000))


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    rows = [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]
    return pd.DataFrame(rows, columns=names)


def _null(v) -> bool:
    return v is None or (hasattr(v, "isNull") and v.isNull()) or v != v


@pytest.mark.parametrize(("withhold", "level"), [(False, 0), (True, 0), (False, 1)])
def test_engagement_layer_equals_spatial_core(run, demo, withhold, level):
    from spatial_core import open_store
    from spatial_core.engagement.tracking import engagement

    levels = ("beat", "npa", "ward", "force")
    out = run("engagement", {"STORE": demo, "LEVEL": level, "WITHHOLD": withhold, "K": 5,
                             "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = engagement(store, level=levels[level], k=5 if withhold else None)
    assert out["AREAS"] == len(want) == out["OUTPUT"].featureCount() > 0
    assert out["OUTPUT"].geometryType() == 2  # polygons
    assert all(not f.geometry().isEmpty() for f in out["OUTPUT"].getFeatures())
    got = _features(out["OUTPUT"]).set_index("area_id").loc[want["area_id"]]
    for col in ("recipients", "sent", "delivered", "replied", "unsubscribed", "surveys"):
        for a, g, w in zip(want["area_id"], got[col], want[col], strict=True):
            if _null(w):
                assert _null(g), (a, col)
            else:
                assert int(g) == int(w), (a, col)
    assert pd.to_numeric(want["sent"], errors="coerce").sum() > 0
    if withhold:
        shown = [int(v) for v in got["replied"] if not _null(v)]
        assert all(v == 0 or v >= 5 for v in shown)
        assert any(_null(v) for v in got["replied"])
    else:
        rate = pd.to_numeric(got["unsubscribe_rate"], errors="coerce").to_numpy()
        w = want["unsubscribe_rate"].to_numpy(dtype=float)
        assert ((rate == w) | (pd.isna(rate) & pd.isna(w))).all()


def test_actions_log_layer_equals_spatial_core(run, demo):
    from spatial_core import open_store
    from spatial_core.engagement.actions import list_actions

    out = run("actions_log", {"STORE": demo, "OUTPUT": "TEMPORARY_OUTPUT"})
    with open_store(demo) as store:
        want = list_actions(store)
        beat = list_actions(store, area_id="beat:DM01B01")
    assert out["ACTIONS"] == len(want) == out["OUTPUT"].featureCount() > 0
    got = _features(out["OUTPUT"])
    assert got["action_id"].tolist() == want["action_id"].tolist()  # newest first
    assert got["what"].tolist() == want["what"].tolist()
    out = run("actions_log", {"STORE": demo, "AREA": "beat:DM01B01",
                              "OUTPUT": "TEMPORARY_OUTPUT"})
    assert out["ACTIONS"] == len(beat) > 0
    assert sorted(_features(out["OUTPUT"])["action_id"]) == sorted(beat["action_id"])
