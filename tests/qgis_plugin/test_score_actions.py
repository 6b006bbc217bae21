# SPDX-License-Identifier: GPL-3.0-or-later
"""Recommended actions in the plugin: the Score streets layer's action fields equal the core's
(spatial_core.api.scores), an actions file as a parameter, a bad one refused with the core's
words, the map tip and form, and the tactical document's Recommended actions page."""
from __future__ import annotations

import pandas as pd
import pytest

BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo-actions"), households=5_000))


def _features(layer) -> pd.DataFrame:
    names = layer.fields().names()
    return pd.DataFrame([dict(zip(names, f.attributes(), strict=True))
                         for f in layer.getFeatures()], columns=names)


def test_score_streets_layer_has_the_core_actions(run, demo):
    from spatial_core import open_store
    from spatial_core.api import FORCE
    from spatial_core.api.scores import score_streets_for

    out = run("score_streets", {"STORE": demo, "AREA": BEAT, "SAVE": False,
                                "OUTPUT": "TEMPORARY_OUTPUT"})
    got = _features(out["OUTPUT"]).set_index("street_id")
    with open_store(demo) as store:
        want = score_streets_for(store, FORCE, "default", area=BEAT, actions=True).scores
    want = want.set_index("street_id")
    assert len(got) == len(want) > 0
    for col in ("action", "action_label", "action_reason"):
        assert got.loc[want.index, col].tolist() == want[col].tolist()


def test_score_streets_with_an_actions_file_and_a_bad_one(run, demo, tmp_path):
    from qgis.core import QgsProcessingException

    rules = tmp_path / "mine.toml"
    rules.write_text('[[rule]]\nname = "all"\naction = "contact_key_individuals"\n'
                     'label = "Ring the KIN"\nreason = "rank {rank} in {beat}"\n')
    out = run("score_streets", {"STORE": demo, "AREA": BEAT, "SAVE": False,
                                "ACTIONS_FILE": str(rules), "OUTPUT": "TEMPORARY_OUTPUT"})
    f = _features(out["OUTPUT"])
    assert set(f["action"]) == {"contact_key_individuals"}
    assert set(f["action_label"]) == {"Ring the KIN"}
    assert sorted(f["action_reason"]) == sorted(f"rank {r} in {BEAT}"
                                                for r in f["rank_in_beat"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nname = "x"\naction = "arrest"\nreason = "r"\n')
    with pytest.raises(QgsProcessingException, match=r"rule 1 \('x'\), key 'action': value "
                                                     r"'arrest': expected one of"):
        run("score_streets", {"STORE": demo, "ACTIONS_FILE": str(bad), "SAVE": False,
                              "OUTPUT": "TEMPORARY_OUTPUT"})


def test_loaded_score_layer_shows_the_action_in_map_tip_and_first_tab(qgis_app, demo):
    import processing
    from qgis.core import QgsProcessingFeedback, QgsProject

    out = processing.runAndLoadResults("lpt:score_streets", {
        "STORE": demo, "AREA": BEAT, "SAVE": False, "OUTPUT": "TEMPORARY_OUTPUT"},
        feedback=QgsProcessingFeedback())
    layer = QgsProject.instance().mapLayer(out["OUTPUT"])
    try:
        assert '"action_label"' in layer.mapTipTemplate()
        assert '"action_reason"' in layer.mapTipTemplate()
        first = [c.name() for c in layer.editFormConfig().tabs()[0].children()]
        assert first[-2:] == ["action_label", "action_reason"]
        i = layer.fields().indexOf("action_reason")
        assert layer.attributeAlias(i) == "Why this action"
        assert layer.editorWidgetSetup(i).config()["IsMultiline"] is True
    finally:
        QgsProject.instance().removeMapLayer(out["OUTPUT"])


def test_tactical_document_has_a_recommended_actions_page(qgis_app, demo):
    from qgis.core import QgsLayoutItemLabel, QgsLayoutItemTextTable

    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.targeting.profiles import load_profile

    with open_store(demo) as store:
        data = tactical.gather(store, BEAT, load_profile("default"), min_n=5)
    (section,) = [s for s in data.sections if s.key == "actions"]
    layout, project = tactical.build_layout(data)
    pages = layout.pageCollection().pageCount()
    assert pages == 2 + (len(data.sections) + 1) // 2  # two sections a page after page 2
    titles = [i for i in layout.items() if isinstance(i, QgsLayoutItemLabel)
              and i.text() == "Recommended actions"]
    assert len(titles) == 1 and titles[0].page() >= 2  # on a further page
    tables = [[list(map(str, r)) for r in t.contents()] for t in layout.multiFrames()
              if isinstance(t, QgsLayoutItemTextTable)]
    mine = [t for t in tables if len(t) == len(section.rows)
            and [r[3] for r in t] == [tactical._short(r[3], 60) for r in section.rows]]
    assert mine, "no table with the section's actions"
    # the section lists the document's recommended streets, in its order
    rec = data.recommended
    assert [r[1] for r in section.rows] == [n or s for n, s in zip(rec["name"], rec["street_id"],
                                                                   strict=True)]
    del project
