# SPDX-License-Identifier: GPL-3.0-or-later
"""``export_layer`` and ``lpt export`` on the hand-built town of ``test_setups.py``: files
readable by pyogrio, expected columns, no personal columns, small counts withheld."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from spatial_core.api.export import FORBIDDEN_COLUMNS, _redact_reasons, _suppress, export_layer
from spatial_core.errors import InputError
from spatial_core.targeting.setups import create_setup

_spec = importlib.util.spec_from_file_location("_town", Path(__file__).with_name(
    "test_setups.py"))
town_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(town_mod)

WALK_COLUMNS = ["setup_id", "street_rank", "street_id", "street_name", "walk_order", "uprn",
                "postcode", "group", "is_target", "reason", "suppressed_until", "along_m", "x",
                "y", "lat", "lng"]


@pytest.fixture
def town(store):
    town_mod.build_town(store)
    create_setup(store, "exp", areas=["beat:B1"], now=town_mod.NOW)
    return store


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_walk_list_is_readable_with_addresses_and_no_personal_columns(town, tmp_path,
                                                                              fmt):
    path = tmp_path / f"walk.{fmt}"
    r = export_layer(town, "walk-list", path, setup_id="exp", now=town_mod.NOW)
    assert r.rows == 15 and r.format == fmt
    got = pyogrio.read_dataframe(path)
    cols = [c for c in got.columns if c != "geometry"]
    assert cols == WALK_COLUMNS
    assert not {c.lower() for c in cols} & FORBIDDEN_COLUMNS
    assert got["uprn"].astype(str).tolist()[:6] == town_mod.L_ORDER
    assert set(got["postcode"]) == {"ZZ1 1ZZ"}
    if fmt == "geojson":
        assert got.crs.to_epsg() == 4326
    elif fmt == "gpkg":
        assert got.crs.to_epsg() == 27700
        assert got.geometry.x.tolist()[:2] == [20.0, 40.0]
    # No member name anywhere in the file.
    assert "Ann Example" not in path.read_text(errors="ignore") if fmt != "gpkg" else True


def test_export_setup_streets_and_fresh_street_scores_as_geopackage(town, tmp_path):
    r = export_layer(town, "setup-streets", tmp_path / "s.gpkg", setup_id="exp")
    got = pyogrio.read_dataframe(tmp_path / "s.gpkg")
    assert got["street_id"].tolist() == ["l", "b"] and r.rows == 2
    assert got.geom_type.tolist() == ["MultiLineString"] * 2
    s = export_layer(town, "street-scores", tmp_path / "scores.gpkg", area="beat:B1",
                     as_of="2026-11-19")
    got = pyogrio.read_dataframe(tmp_path / "scores.gpkg")
    assert sorted(got["street_id"]) == ["b", "l"]
    assert {"street_id", "street_name", "beat_id", "score", "rank_in_beat", "harm", "voice",
            "representation", "coverage", "fatigue", "reasons", "profile"} <= set(got.columns)
    assert "name" not in got.columns
    assert any("fresh score" in n for n in s.notes)
    b = got.set_index("street_id").loc["b", "reasons"]
    assert "1 household in an under-represented group, 0 members" in b  # zero is published


def test_export_street_scores_uses_the_newest_stored_run(town, tmp_path):
    from spatial_core.targeting.profiles import load_profile
    from spatial_core.targeting.scoring import prepare_inputs, run_scores, save_scores

    run_id = save_scores(town, run_scores(prepare_inputs(town, as_of="2026-11-19"),
                                          load_profile("harm")))
    r = export_layer(town, "scores", tmp_path / "scores.csv")
    got = pd.read_csv(tmp_path / "scores.csv")
    assert len(got) == 3 and set(got["run_id"]) == {run_id}
    assert set(got["profile"]) == {"harm"}
    assert any(run_id in n for n in r.notes)


def test_export_representation_withholds_small_member_counts(town, tmp_path):
    r = export_layer(town, "representation", tmp_path / "rep.csv")
    got = pd.read_csv(tmp_path / "rep.csv", dtype={"group": str})
    b1 = got[got["area_id"] == "beat:B1"].set_index("group")
    # One member in B1 (group 1): withheld; group 2's zero is published.
    assert pd.isna(b1.loc["1", "members"]) and b1.loc["2", "members"] == 0
    assert pd.isna(b1.loc["1", "member_ratio"]) and pd.isna(b1.loc["1", "member_share"])
    assert b1["population"].tolist() == [9, 7]  # households are not people: published
    assert r.withheld >= 1


def test_suppress_withholds_a_second_count_recoverable_from_the_total():
    f = pd.DataFrame({"area_id": ["a", "a", "a", "b"], "n": [3, 10, 12, 0]})
    out, withheld = _suppress(f, ["n"], within="area_id")
    assert out["n"].isna().tolist() == [True, True, False, False]
    assert withheld == 2


def test_redact_reasons_hides_small_counts_of_people():
    text = pd.Series(["8 households in a target group, 1 member; ASB named by 60% of 3 "
                      "respondents", "9 households, 12 members"])
    assert _redact_reasons(text).tolist() == [
        "8 households in a target group, <5 members; ASB named by 60% of <5 respondents",
        "9 households, 12 members"]


@pytest.mark.parametrize("layer, kwargs, message", [
    ("walk-list", {}, "needs a set-up"),
    ("bogus", {}, "layer 'bogus' is not one of"),
    ("priorities", {"format": "shp"}, "format 'shp' is not one of"),
])
def test_export_bad_requests_say_what_is_expected(town, tmp_path, layer, kwargs, message):
    with pytest.raises(InputError, match=message):
        export_layer(town, layer, tmp_path / "x.gpkg", **kwargs)


def test_export_priorities_per_area_polygons(town, tmp_path):
    export_layer(town, "priorities", tmp_path / "p.geojson")
    got = pyogrio.read_dataframe(tmp_path / "p.geojson")
    assert {"area_id", "priority", "votes", "n", "share", "is_priority"} <= set(got.columns)
    assert set(got["area_id"]) >= {"beat:B1", "beat:B2"}
    assert got.geom_type.dropna().unique().tolist() == ["MultiPolygon"]


def test_redact_reasons_uses_the_export_k():
    text = pd.Series(["9 households in a target group, 7 members; only 4 respondents nearby"])
    assert _redact_reasons(text, k=10).tolist() == [
        "9 households in a target group, <10 members; only <10 respondents nearby"]
    assert _redact_reasons(text, k=5).tolist() == [
        "9 households in a target group, 7 members; only <5 respondents nearby"]


def test_redact_representation_stops_recovering_member_households_by_subtraction():
    from spatial_core.api.export import _redact_representation

    # 34 target households, 2 of them with a member: representation_raw = 32 is published,
    # so "34 households ..." would give 34 - 32 = 2 member households.
    text = pd.Series([
        "1st in the beat for burglary harm; 34 households in an under-represented group, "
        "2 members; 5 households not yet visited or registered",
        "40 households in a target group, 6 members",      # 3 households with a member
        "40 households in a target group, 12 members",     # 10 households with a member
        "1 household in an under-represented group, 0 members",
    ])
    got = _redact_representation(text, [32, 37, 30, 1]).tolist()
    assert got == [
        "1st in the beat for burglary harm; 32 households in an under-represented group with "
        "no member, <5 members; 5 households not yet visited or registered",
        "37 households in a target group with no member, <5 members",
        "40 households in a target group, 12 members",
        "1 household in an under-represented group, 0 members",
    ]


def test_export_priorities_note_does_not_give_a_withheld_n(town, tmp_path, monkeypatch):
    import spatial_core.analytics.priorities as pri

    frame = pd.DataFrame({
        "area_id": ["beat:B1", "beat:B1", "beat:B2"], "area_name": ["B1", "B1", "B2"],
        "priority": ["asb", "drugs", "asb"], "label": ["ASB", "Drugs", "ASB"],
        "votes": [3, 0, 8], "n": [3, 3, 12], "responses": [4, 4, 12],
        "share": [1.0, 0.0, 8 / 12], "ci_low": [0.4, 0.0, 0.4], "ci_high": [1.0, 0.6, 0.9],
        "rank": [1, 2, 1], "enough": [False, False, True], "is_priority": [False, False, True],
        "note": ["too few respondents (n=3 < 10): no local priority"] * 2 + [""]})
    monkeypatch.setattr(pri, "local_priorities", lambda store, **kw: frame.copy())
    export_layer(town, "priorities", tmp_path / "p.csv")
    got = pd.read_csv(tmp_path / "p.csv", keep_default_na=False)
    assert got["note"].tolist() == ["too few respondents (n<5 < 10): no local priority"] * 2 + [""]
    assert "n=3" not in (tmp_path / "p.csv").read_text()
