# SPDX-License-Identifier: GPL-3.0-or-later
"""Set-up progress in real PyQGIS: ``processing.run("lpt:setup_progress")`` on the demo
force against spatial_core's report, its styling, and the tactical document's progress
page. The counting rules are checked by hand in tests/core/test_progress.py."""
from __future__ import annotations

import json

import pytest

CREATED = "2026-07-01T09:00:00"
NOW = "2026-08-12T12:00:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    """A demo copy with a live set-up made on 1 July on the beat with the most visits (the
    demo's visits of the summer count), with targets, and one without targets."""
    from spatial_core import open_store
    from spatial_core.targeting.setups import create_setup

    path = demo_builds.copy(tmp_path_factory.mktemp("demo-progress"), households=5_000)
    with open_store(path) as store:
        addr = store.read("addresses", ["uprn", "beat_id"])
        busy = store.read("visits", ["uprn"]).merge(addr, on="uprn")["beat_id"].value_counts(
        ).index[0]
        create_setup(store, "Summer drive", areas=[busy], setup_id="summer", now=CREATED,
                     max_streets=40, targets={"visits": 100, "registrations": 10})
        create_setup(store, "Plain", areas=[busy], setup_id="plain", now=CREATED,
                     max_streets=10)
    return str(path), busy


def _features(layer):
    names = layer.fields().names()
    return [dict(zip(names, f.attributes(), strict=True)) for f in layer.getFeatures()]


def test_setup_progress_layers_equal_spatial_core_and_are_styled(run, demo):
    from qgis.core import QgsCategorizedSymbolRenderer, QgsProject

    from spatial_core import open_store
    from spatial_core.api.progress import progress

    path, busy = demo
    out = run("setup_progress", {"STORE": path, "NOW": NOW, "OUTPUT": "TEMPORARY_OUTPUT",
                                 "SETUPS": "TEMPORARY_OUTPUT", "OFFICERS": "TEMPORARY_OUTPUT",
                                 "DAYS": "TEMPORARY_OUTPUT"})
    with open_store(path) as store:
        want = progress(store, now=NOW)
    beats = _features(out["OUTPUT"])
    assert [[b["setup_id"], b["beat_id"]] for b in beats] == \
        want.beats[["setup_id", "beat_id"]].values.tolist()
    for b, w in zip(beats, want.beats.to_dict(orient="records"), strict=True):
        assert (b["visits"], b["households"], b["registered"]) == (
            w["visits"], w["households"], w["registered"])
        # The pace class the style colours: behind, on pace (judged), not judged.
        judged = any(w[c] == w[c] for c in w if c.startswith("share_") and w[c] is not None)
        assert b["pace"] == ("behind" if w["behind"] else
                             "on pace" if judged else "not judged")
        assert b["behind_on"] == ", ".join(w["behind_on"])
    assert out["BEHIND"] == len(want.behind)
    assert out["OUTPUT"].geometryType() == 2 and all(
        f.hasGeometry() for f in out["OUTPUT"].getFeatures())
    setups = {s["setup_id"]: s for s in _features(out["SETUPS"])}
    assert set(setups) == {"summer", "plain"}
    assert setups["plain"]["judged_on"] == "walk lists"
    row = want.setups.set_index("setup_id").loc["summer"]
    assert setups["summer"]["visits"] == row["visits"] > 0
    assert setups["summer"]["share_visits"] == pytest.approx(row["visits"] / 100)
    officers = _features(out["OFFICERS"])
    assert sorted((o["setup_id"], o["officer"], o["visits"]) for o in officers) == sorted(
        want.officers[["setup_id", "officer", "visits"]].itertuples(index=False, name=None))
    assert len(_features(out["DAYS"])) == len(want.days)
    headline = json.loads(out["HEADLINE"])
    assert headline["households_visited"] == want.headline["households_visited"] > 0

    # Loaded into a project, the result is styled behind / on pace.
    from qgis_plugin.processing.setup_progress import _style_behind

    layer = out["OUTPUT"]
    _style_behind(layer)
    renderer = layer.renderer()
    assert isinstance(renderer, QgsCategorizedSymbolRenderer)
    assert renderer.classAttribute() == "pace"
    assert [c.value() for c in renderer.categories()] == ["behind", "on pace", "not judged"]
    QgsProject.instance().removeAllMapLayers()


def test_setup_progress_refuses_a_bad_since_with_the_expected_format(run, demo):
    from qgis.core import QgsProcessingException

    path, _ = demo
    with pytest.raises(QgsProcessingException, match="YYYY-MM-DD"):
        run("setup_progress", {"STORE": path, "SINCE": "last week",
                               "OUTPUT": "TEMPORARY_OUTPUT", "SETUPS": "TEMPORARY_OUTPUT",
                               "OFFICERS": "TEMPORARY_OUTPUT", "DAYS": "TEMPORARY_OUTPUT"})


def test_the_tactical_document_of_the_beat_has_a_progress_page(qgis_app, demo):
    from qgis.core import QgsLayoutItemLabel, QgsLayoutItemTextTable

    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile

    path, busy = demo
    with open_store(path) as store:
        data = tactical.gather(store, busy, load_profile("default"), min_n=5)
    progress = [s for s in data.sections if s.key == "progress"]
    assert len(progress) == 1 and {r[0] for r in progress[0].rows} == {
        "Summer drive (summer)", "Plain (plain)"}
    layout, project = tactical.build_layout(data)
    # Two pages, then the further sections two to a page.
    assert layout.pageCollection().pageCount() == 2 + (len(data.sections) + 1) // 2
    labels = [i.text() for i in layout.items() if isinstance(i, QgsLayoutItemLabel)]
    assert "Targeting set-ups: progress against targets" in labels
    tables = [[list(map(str, r)) for r in t.contents()] for t in layout.multiFrames()
              if isinstance(t, QgsLayoutItemTextTable)]
    assert any(rows and rows[0][0] in ("Summer drive (summer)", "Plain (plain)")
               for rows in tables)
    del project
