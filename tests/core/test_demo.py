# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force: deterministic files, loads through the importers, and behaves like a force
(crime concentration, member under-representation, priorities following local crime)."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core.demo import DemoFiles, build_demo, generate_demo
from spatial_core.errors import InputError
from spatial_core.geo.crs import lnglat_to_bng

HOUSEHOLDS = 3_000


def _hashes(files: DemoFiles) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files.all_files()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoFiles:
    return generate_demo(tmp_path_factory.mktemp("demo"), households=HOUSEHOLDS)


def _points(path, x="easting", y="northing") -> gpd.GeoDataFrame:
    f = pd.read_csv(path, dtype=str, keep_default_na=False)
    return gpd.GeoDataFrame(
        f, geometry=gpd.points_from_xy(f[x].astype(float), f[y].astype(float)), crs=27700
    )


def _codepoint(demo: DemoFiles) -> gpd.GeoDataFrame:
    cp = pd.read_csv(demo.postcodes, header=None, dtype=str)
    return gpd.GeoDataFrame(
        {"postcode": cp[0]},
        geometry=gpd.points_from_xy(cp[2].astype(float), cp[3].astype(float)),
        crs=27700,
    )


def _polygons(path) -> gpd.GeoDataFrame:
    return gpd.read_file(path)


def test_generate_demo_same_seed_gives_identical_files(tmp_path, demo):
    again = generate_demo(tmp_path / "again", households=HOUSEHOLDS)
    assert _hashes(again) == _hashes(demo)
    assert again.counts == demo.counts


def test_generate_demo_other_seed_gives_other_files(tmp_path, demo):
    other = _hashes(generate_demo(tmp_path / "other", households=HOUSEHOLDS, seed=7))
    same = {k for k, v in _hashes(demo).items() if other.get(k) == v}
    assert same == set()


def test_generate_demo_writes_every_kind_in_its_real_format(demo):
    assert sorted(demo.boundaries) == ["beat", "force", "lsoa", "npa", "ward"]
    assert [p.name for p in demo.crimes][0] == "2025-10-demo-street.csv"
    assert [p.name for p in demo.crimes][-1] == "2026-09-demo-street.csv"
    month = pd.read_csv(demo.crimes[0], dtype=str, keep_default_na=False)
    assert list(month.columns) == [
        "Crime ID",
        "Month",
        "Reported by",
        "Falls within",
        "Longitude",
        "Latitude",
        "Location",
        "LSOA code",
        "LSOA name",
        "Crime type",
        "Last outcome category",
        "Context",
    ]
    assert set(month["Month"]) == {"2025-10"}
    asb = month["Crime type"] == "Anti-social behaviour"
    assert (month.loc[asb, "Crime ID"] == "").all()
    assert month.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert set(month["Reported by"]) == {"Demo Police"}
    cp = pd.read_csv(demo.postcodes, header=None, dtype=str, keep_default_na=False)
    assert cp.shape[1] == 10 and cp[0].str.fullmatch(r"DM\d{1,2} \d[A-Z]{2}").all()
    geo = json.loads(demo.boundaries["beat"].read_text())
    assert geo["crs"]["properties"]["name"] == "urn:ogc:def:crs:EPSG::27700"
    members = pd.read_csv(demo.members, dtype=str, keep_default_na=False)
    assert members["email"].str.endswith("@example.invalid").all()
    assert members["phone"].str.startswith("07700 900").all()


def test_generate_demo_counts_are_realistic(demo):
    c = demo.counts
    assert c["households"] == HOUSEHOLDS
    assert 0.11 <= c["members"] / HOUSEHOLDS <= 0.15  # ~13% of households
    assert 12 <= HOUSEHOLDS / c["postcodes"] <= 18  # ~15 households a postcode
    assert 12 <= HOUSEHOLDS / c["streets"] <= 24  # ~18 households a street
    assert 100 <= HOUSEHOLDS / c["output_areas"] <= 150  # ~125 households an OA
    assert 0.15 <= c["crimes"] / HOUSEHOLDS <= 0.25  # ~0.2 crimes a household a year
    assert 0.01 <= 1 - c["crimes_located"] / c["crimes"] <= 0.05  # 3% without coordinates
    crimes = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in demo.crimes])
    share = crimes["Crime type"].value_counts(normalize=True)
    assert len(share) == 14
    assert 0.22 <= share["Anti-social behaviour"] <= 0.32
    assert 0.25 <= share["Violence and sexual offences"] <= 0.35


def test_demo_households_lie_in_england_inside_their_force(demo):
    addresses = _points(demo.addresses)
    force = _polygons(demo.boundaries["force"]).geometry.iloc[0]
    assert shapely.contains_xy(force, addresses.geometry.x, addresses.geometry.y).all()
    x, y = addresses.geometry.x, addresses.geometry.y
    assert ((x > 350_000) & (x < 600_000) & (y > 150_000) & (y < 450_000)).all()


def test_demo_crime_is_concentrated_on_few_streets(demo):
    streets = gpd.read_file(demo.streets).to_crs(27700)
    crimes = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in demo.crimes])
    located = crimes[crimes["Longitude"] != ""]
    x, y = lnglat_to_bng(located["Longitude"].astype(float), located["Latitude"].astype(float))
    tree = shapely.STRtree(streets.geometry.values)
    _, nearest = tree.query_nearest(shapely.points(x, y), return_distance=False)
    counts = np.sort(np.bincount(nearest, minlength=len(streets)))[::-1]
    top = counts[: int(round(0.05 * len(streets)))].sum() / counts.sum()
    assert 0.40 <= top <= 0.60
    assert top == pytest.approx(demo.stats["top5pct_street_crime_share"], abs=0.02)


def _supergroup_of(points: gpd.GeoDataFrame, oas: gpd.GeoDataFrame) -> np.ndarray:
    j = gpd.sjoin(points, oas[["supgrpcode", "geometry"]], predicate="within", how="left")
    j = j[~j.index.duplicated()]
    return j["supgrpcode"].to_numpy()


def test_demo_members_under_represent_some_supergroups(demo):
    oas = _polygons(demo.classification)
    addresses = _points(demo.addresses)
    members = pd.read_csv(demo.members, dtype=str, keep_default_na=False)
    by_uprn = addresses.set_index("uprn").geometry
    located = members[members["uprn"] != ""]
    mem_pts = gpd.GeoDataFrame(geometry=by_uprn.loc[located["uprn"]].values, crs=27700)
    hh_share = pd.Series(_supergroup_of(addresses, oas)).value_counts(normalize=True)
    mem_share = pd.Series(_supergroup_of(mem_pts, oas)).value_counts(normalize=True)
    ratio = (mem_share.reindex(hh_share.index).fillna(0) / hh_share)[hh_share > 0.03]
    assert ratio.min() < 0.7
    assert ratio.max() > 1.0


def test_demo_survey_priorities_follow_local_asb(demo):
    beats = _polygons(demo.boundaries["beat"])[["beat_code", "geometry"]]
    addresses = _points(demo.addresses)
    hh = gpd.sjoin(addresses, beats, predicate="within")["beat_code"].value_counts()
    crimes = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in demo.crimes])
    asb = crimes[(crimes["Crime type"] == "Anti-social behaviour") & (crimes["Longitude"] != "")]
    x, y = lnglat_to_bng(asb["Longitude"].astype(float), asb["Latitude"].astype(float))
    asb_pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y), crs=27700)
    rate = gpd.sjoin(asb_pts, beats, predicate="within")["beat_code"].value_counts() / hh
    surveys = pd.read_csv(demo.surveys, dtype=str, keep_default_na=False)
    cp = _codepoint(demo)
    resp = cp.set_index("postcode").loc[surveys["postcode"]].reset_index()
    resp = gpd.GeoDataFrame(resp, geometry="geometry", crs=27700)
    resp["asb"] = surveys["priorities"].str.contains("Anti-social behaviour").to_numpy()
    resp = gpd.sjoin(resp, beats, predicate="within")
    share = resp.groupby("beat_code")["asb"].mean()
    rate = rate.reindex(share.index).fillna(0)
    top = share[rate >= rate.quantile(0.75)].mean()
    bottom = share[rate <= rate.quantile(0.25)].mean()
    assert top > bottom
    # confidence falls where crime is high
    conf = pd.Series(surveys["confidence"].astype(int).to_numpy(), index=resp.index)
    assert conf.between(1, 5).all()


def test_demo_surveys_have_panels_and_all_channels(demo):
    surveys = pd.read_csv(demo.surveys, dtype=str, keep_default_na=False)
    assert set(surveys["channel"]) == {"Online", "Door knock", "Staff"}
    answered = surveys[surveys["member_id"] != ""].groupby("member_id")["date"].nunique()
    assert (answered >= 2).sum() >= 20
    assert (surveys["member_id"] == "").mean() > 0.1  # anonymous responses with a postcode
    assert (surveys["postcode"] != "").all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"households": 999}, "between 1,000 and 30,000,000"),
        ({"end_month": "Sept 2026"}, "YYYY-MM"),
        ({"months": 0}, "months must be between"),
    ],
)
def test_generate_demo_rejects_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(InputError, match=message):
        generate_demo(tmp_path, **kwargs)


def test_build_demo_loads_everything_with_generated_counts(store, tmp_path):
    reports = build_demo(store, tmp_path / "files", households=HOUSEHOLDS, months=12)
    files = generate_demo(tmp_path / "again", households=HOUSEHOLDS)  # same seed: same counts
    c = files.counts
    assert store.count("addresses") == c["households"]
    assert store.count("postcodes") == c["postcodes"]
    assert store.count("members") == c["members"]
    # the engagement history adds a follow-up survey wave (spatial_core.demo.history)
    history = json.loads(store.get_meta("demo_history"))
    assert store.count("surveys") == c["surveys"] + history["surveys"]
    assert store.count("visits") == c["visits"]
    assert store.count("crimes") == c["crimes"]
    areas = store.read("areas", ["level"])["level"].value_counts()
    assert areas.to_dict() == {
        "oa": c["output_areas"],
        "lsoa": c["lsoas"],
        "beat": c["beats"],
        "ward": c["wards"],
        "npa": c["npas"],
        "force": 1,
    }
    assert store.count("classifications") == c["output_areas"]
    assert reports["streets"].read == c["streets"] and reports["streets"].skipped == 0
    assert reports["crimes"].notes["no coordinates"]["count"] == c["crimes"] - c["crimes_located"]
    for report in reports.values():
        assert report.skipped == 0, report.summary()
    # the importers' own index put every address on a street, in a beat and an output area
    a = store.read("addresses", ["street_id", "beat_id", "oa_code"])
    assert a.notna().all().all()
