# SPDX-License-Identifier: GPL-3.0-or-later
"""lpt:tactical_document: a PDF from a QGIS print layout on the demo force (and on Leeds),
checked for pages, a map that is not blank, its tables and attributions; page 1 is saved as
PNG in test-artifacts/."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BEAT = "beat:DM01B01"


@pytest.fixture(scope="module")
def demo(tmp_path_factory, demo_builds):
    return str(demo_builds.copy(tmp_path_factory.mktemp("demo-tactical"), households=5_000))


def _pdf_pages(path: Path) -> int:
    # The page tree's /Count (Qt's PDF writer keeps the page tree uncompressed).
    counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages",
                        path.read_bytes())
    assert len(counts) == 1, counts
    return int(counts[0][0] or counts[0][1])


def _map_area_variety(png: Path, dpi: float = 100) -> tuple[int, float]:
    """Distinct colours and the share of non-white pixels inside the map item of page 1."""
    from qgis.PyQt.QtGui import QImage

    from qgis_plugin.tactical import MAP_RECT

    image = QImage(str(png))
    x, y, w, h = (int(round(v / 25.4 * dpi)) for v in MAP_RECT)
    colours, coloured, total = set(), 0, 0
    for j in range(y + 5, y + h - 5, 3):  # a 3-pixel grid: enough, and quick
        for i in range(x + 5, x + w - 5, 3):
            rgb = image.pixel(i, j) & 0xFFFFFF
            colours.add(rgb)
            coloured += rgb != 0xFFFFFF
            total += 1
    return len(colours), coloured / total


def _texts(layout) -> tuple[list[str], list[list[list[str]]]]:
    from qgis.core import QgsLayoutItemLabel, QgsLayoutItemTextTable

    labels = [i.text() for i in layout.items() if isinstance(i, QgsLayoutItemLabel)]
    tables = [[list(map(str, row)) for row in t.contents()] for t in layout.multiFrames()
              if isinstance(t, QgsLayoutItemTextTable)]
    return labels, tables


def test_tactical_document_of_a_demo_beat(run, demo, tmp_path):
    from qgis_plugin import tactical
    from spatial_core import open_store
    from spatial_core.analytics.priorities import local_priorities
    from spatial_core.analytics.representation import representation, underrepresented_households
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, run_scores

    ARTIFACTS.mkdir(exist_ok=True)
    pdf, png = tmp_path / "beat.pdf", ARTIFACTS / "tactical-document-page1.png"
    out = run("tactical_document", {"STORE": demo, "AREA": BEAT, "PROFILE": 0, "MIN_N": 5,
                                    "OUTPUT": str(pdf), "PREVIEW": str(png)})
    assert out["OUTPUT"] == str(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and _pdf_pages(pdf) == out["PAGES"]
    colours, coloured = _map_area_variety(png)
    assert colours > 20 and coloured > 0.2, (colours, coloured)  # the map is not blank

    summary = json.loads(out["SUMMARY"])
    with open_store(demo) as store:
        profile = load_profile("default")
        scores = run_scores(prepare_inputs(store, area=BEAT), profile).scores
        pri = local_priorities(store, level="beat", min_n=5)
        rep = representation(store, area_level="beat")
        under = underrepresented_households(store, area_level="beat", areas=[BEAT])
    best = scores[scores["score"] > 0].sort_values(["score", "street_id"],
                                                   ascending=[False, True]).head(10)
    assert summary["recommended"] == best["street_id"].tolist()
    assert summary["under_represented"] == len(under) > 0
    pri = pri[pri["area_id"] == BEAT]
    assert summary["priorities"] == pri.loc[pri["is_priority"], "label"].tolist()
    rep = rep[rep["area_id"] == BEAT]
    assert summary["groups_below_target"] == rep.loc[rep["member_below"], "group"].tolist()
    assert summary["attributions"] == list(tactical.DEMO_ATTRIBUTION)

    # The same layout, built again, inspected item by item (tables and labels).
    with open_store(demo) as store:
        data = tactical.gather(store, BEAT, profile, min_n=5)
    layout, project = tactical.build_layout(data)
    labels, tables = _texts(layout)
    # two pages, then the further sections two to a page (spatial_core.api.tactical_sections)
    assert layout.pageCollection().pageCount() == out["PAGES"] == \
        2 + (len(data.sections) + 1) // 2
    streets, priorities, groups = tables[:3]
    assert [row[1] for row in streets] == [n or s for n, s in zip(best["name"], best["street_id"],
                                                                 strict=True)]
    assert all(row[3] for row in streets)  # every recommended street says why
    assert [row[0] for row in priorities] == pri.loc[pri["votes"] > 0, "label"].tolist()
    assert sum(row[4] == "yes" for row in priorities) == int(pri["is_priority"].sum())
    assert len(groups) == len(rep) and sum(row[4] == "below" for row in groups) == \
        int(rep["member_below"].sum())
    text = "\n".join(labels)
    assert "Tactical document: Wexcombe West 1 (beat:DM01B01)" in text
    assert f"prepared {data.prepared}" in text and "profile default" in text
    assert "Profile used: default" in text and "harm 1" in text
    assert "Synthetic demo data" in text
    if shutil.which("pdftotext"):
        pdf_text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                  text=True, check=True).stdout
        assert "Local priorities" in pdf_text and "Synthetic demo data" in pdf_text
    del project


def test_tactical_document_of_an_npa_with_another_profile(run, demo, tmp_path):
    pdf = tmp_path / "npa.pdf"
    out = run("tactical_document", {"STORE": demo, "AREA": "npa:DM01", "PROFILE": 2,
                                    "WEIGHT_HARM": 0.0, "TOP": 5, "OUTPUT": str(pdf)})
    summary = json.loads(out["SUMMARY"])
    assert summary["level"] == "npa" and summary["profile"] == "engagement"
    assert len(summary["recommended"]) == 5 and _pdf_pages(pdf) == out["PAGES"] >= 2


def test_tactical_document_unknown_area_and_wrong_level(run, demo, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="no area 'beat:NOPE'"):
        run("tactical_document", {"STORE": demo, "AREA": "beat:NOPE",
                                  "OUTPUT": str(tmp_path / "x.pdf")})
    with open_oa(demo) as oa:
        # lsoa and output areas are not policing areas: no document for them
        with pytest.raises(QgsProcessingException, match=f"no area '{oa}'.*beat:DM01B01"):
            run("tactical_document", {"STORE": demo, "AREA": oa,
                                      "OUTPUT": str(tmp_path / "x.pdf")})


class open_oa:  # noqa: N801 - a tiny context manager: the id of one stored lsoa
    def __init__(self, location):
        self.location = location

    def __enter__(self):
        from spatial_core import open_store

        with open_store(self.location) as store:
            areas = store.read("areas", ["area_id", "level"])
        return areas.loc[areas["level"] == "lsoa", "area_id"].iloc[0]

    def __exit__(self, *exc):
        return False


@pytest.mark.real_data
def test_tactical_document_of_a_leeds_ward_as_beat_carries_real_attributions(
        run, real, tmp_path):
    from spatial_core import open_store
    from spatial_core.io.imports import import_files

    location = str(tmp_path / "leeds.gpkg")
    d = real / "leeds"
    with open_store(location) as store:
        import_files(store, "boundaries", [d / "boundaries/leeds_wards_2017.geojson"],
                     level="beat", crs=27700)
        import_files(store, "streets", [d / "streets/leeds_central_osm_2022.gpkg"])
        import_files(store, "crimes", [d / "crime/2017-07-west-yorkshire-street.csv"])
        streets = store.read("streets", ["beat_id"])
    beat = streets["beat_id"].value_counts().index[0]  # the ward with most central streets
    pdf = tmp_path / "leeds.pdf"
    png = ARTIFACTS / "tactical-document-leeds-page1.png"
    ARTIFACTS.mkdir(exist_ok=True)
    out = run("tactical_document", {"STORE": location, "AREA": beat, "PROFILE": 1,
                                    "OUTPUT": str(pdf), "PREVIEW": str(png)})
    summary = json.loads(out["SUMMARY"])
    # two pages, then the further sections two to a page (here: no survey, census or set-up
    # data, so the recommended actions only)
    assert _pdf_pages(pdf) == out["PAGES"] == 2 + (len(summary["sections"]) + 1) // 2
    assert summary["sections"] and len(summary["recommended"]) == 10
    assert any("Open Government Licence" in a for a in summary["attributions"])
    assert any("ODbL" in a for a in summary["attributions"])
    assert not any("Royal Mail" in a for a in summary["attributions"])  # no postcodes here
    colours, coloured = _map_area_variety(png)
    assert colours > 10 and coloured > 0.05, (colours, coloured)
