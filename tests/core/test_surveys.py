# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.io.members import import_members
from spatial_core.io.sources import normalise_postcodes, read_csv_table
from spatial_core.io.surveys import CONFIDENCE_SCALE, PRIORITIES, import_surveys, likert_to_scores

HEADER = ("response_id,date,channel,member_id,postcode,priorities,confidence,feel_safe,comments,"
          "gender,age_band,ethnicity\n")


def _points(x, y, store):
    lng, lat = bng_to_lnglat(np.asarray(x, float), np.asarray(y, float))
    return {"lat": lat, "lng": lng, "x": np.asarray(x, float), "y": np.asarray(y, float),
            "cell": points_to_cells(lat, lng, store.h3_resolution), "geom": shapely.points(x, y)}


def seed(store, tmp_path):
    """Two postcodes and one member M1 (located at an address) stored before the surveys."""
    pcs = pd.DataFrame({"postcode": ["LS1 1AA", "LS2 2BB"], "terminated": [None, None],
                        **_points([430000.0, 429000.0], [433500.0, 434500.0], store)})
    adr = pd.DataFrame({"uprn": ["1001"], "postcode": ["LS1 1AA"],
                        **_points([430010.0], [433510.0], store)})
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", pcs)
        store.insert_new(conn, "addresses", adr)
    members = tmp_path / "members.csv"
    members.write_text("member_id,uprn\nM1,1001\n")
    import_members(store, [members])


CANONICAL = HEADER + (
    "R1,2025-01-15,online,M1,LS1 1AA,Anti-social behaviour;Speeding;Drugs,Strongly agree,"
    "Very safe,\"Cars race down the hill, every night\",Female,25-34,White British\n"
    "R2,16/01/2025,Door knock,,ls2 2bb,Burglary|Fly-tipping,2,Fairly unsafe,,Male,65+,A1\n"
    "R3,2025-01-17,Staff,M1,,Vehicle crime;Noisy neighbours,Neither agree nor disagree,"
    "Don't know,,,,\n"
    "R4,2025-01-18,door-knock,,,Other,,,,,,\n"
    "R5,2025-01-19,Online,,XX9 9XX,,5,5,,,,\n"
)


def _write(tmp_path, text, name="surveys.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_surveys_canonical_file_stores_responses_and_exploded_priorities(store, tmp_path):
    seed(store, tmp_path)
    report = import_surveys(store, [_write(tmp_path, CANONICAL)])
    assert (report.read, report.imported, report.skipped) == (5, 3, 2)
    got = store.read("surveys", order_by=["response_id"]).set_index("response_id")
    assert got.index.tolist() == ["R1", "R2", "R3"]
    assert got["responded"].tolist() == ["2025-01-15", "2025-01-16", "2025-01-17"]
    assert got["channel"].tolist() == ["online", "door_knock", "staff"]
    assert got["member_id"].tolist() == ["M1", None, "M1"]
    assert got["confidence"].tolist() == [5, 2, 3]
    assert got.loc["R1", "feel_safe"] == 5 and got.loc["R2", "feel_safe"] == 2
    assert pd.isna(got.loc["R3", "feel_safe"])
    assert got.loc["R1", "free_text"] == "Cars race down the hill, every night"
    assert got["gender"].tolist() == ["female", "male", None]
    assert got["ethnicity"].tolist() == ["white_british", "asian_indian", None]
    # R1 by its postcode, R2 by its postcode, R3 (no postcode) at member M1's address point
    assert got["x"].tolist() == [430000.0, 429000.0, 430010.0]
    assert got["postcode"].tolist() == ["LS1 1AA", "LS2 2BB", None]
    assert (got["cell"] != 0).all()
    prios = store.read("survey_priorities").sort_values(["response_id", "priority"])
    assert list(prios.itertuples(index=False, name=None)) == [
        ("R1", "asb"), ("R1", "drugs"), ("R1", "road_safety"),
        ("R2", "burglary"), ("R2", "environmental"),
        ("R3", "noisy_neighbours"), ("R3", "vehicle_crime")]
    assert report.notes["priority 'Noisy neighbours' is not in the vocabulary; stored as "
                        "'noisy_neighbours'"]["rows"] == [4]
    assert report.notes["located at the member's stored point"]["rows"] == [4]
    assert report.reasons["no location (UPRN, postcode or coordinates)"]["rows"] == [5]
    assert [e["rows"] for r, e in report.reasons.items() if r.startswith("location not found")] == [
        [6]]


def test_import_surveys_twice_adds_nothing(store, tmp_path):
    seed(store, tmp_path)
    path = _write(tmp_path, CANONICAL)
    import_surveys(store, [path])
    before = store.fingerprint()
    report = import_surveys(store, [path])
    assert report.imported == 0
    assert report.reasons["already in the store"]["rows"] == [2, 3, 4]
    after = store.fingerprint()
    assert after["surveys"] == before["surveys"] == 3
    assert after["survey_priorities"] == before["survey_priorities"] == 7


def test_import_surveys_real_export_headers_map_to_canonical_names(store, tmp_path):
    seed(store, tmp_path)
    text = (
        "Response ID,Date Submitted,Source,Member ID,Your Postcode,Local Priorities,"
        "Confidence in Police,How safe do you feel,Any Other Comments,Sex,Age Range,Ethnic Group\n"
        "S-77,2025-03-01 09:14:55,Web,,LS1 1AA,Road Safety; Violence,Tend to agree,Fairly safe,"
        "More patrols please,F,45-54,Black British\n"
    )
    report = import_surveys(store, [_write(tmp_path, text)])
    assert report.imported == 1
    got = store.read("surveys")
    row = got.iloc[0]
    assert (row["response_id"], row["responded"], row["channel"]) == (
        "S-77", "2025-03-01", "online")
    assert (row["confidence"], row["feel_safe"]) == (4, 4)
    assert (row["free_text"], row["gender"], row["age_band"], row["ethnicity"]) == (
        "More patrols please", "female", "45-54", "black")
    assert sorted(store.read("survey_priorities")["priority"]) == ["road_safety", "violence"]


def test_likert_text_maps_to_scores_and_priorities_vocabulary_is_public():
    scores, bad = likert_to_scores(["Strongly disagree", "Disagree", "Neither agree nor disagree",
                                    "Agree", "Strongly agree", "3"], CONFIDENCE_SCALE)
    assert scores.tolist() == [1, 2, 3, 4, 5, 3] and not bad.any()
    assert {"asb", "road_safety", "drugs", "burglary", "vehicle_crime", "violence",
            "criminal_damage", "theft", "environmental", "other"} <= set(PRIORITIES)


CORRUPT = [
    (HEADER + "R1,2025-01-15,online,,LS1 1AA,,6,,,,,\n", 2,
     "column 'confidence': value '6': expected a score from 1 to 5"),
    (HEADER + "R1,2025-01-15,online,,LS1 1AA,,,Quite scared,,,,\n", 2,
     "column 'feel_safe': value 'Quite scared': expected a score from 1 to 5 or one of: very safe"),
    (HEADER + "R1,2025-01-15,by pigeon,,LS1 1AA,,,,,,,\n", 2,
     "column 'channel': value 'by pigeon': expected a channel: one of online, door_knock, staff"),
    (HEADER + "R1,2025-13-45,online,,LS1 1AA,,,,,,,\n", 2,
     "column 'date': value '2025-13-45': expected a date"),
    (HEADER + "R1,,online,,LS1 1AA,,,,,,,\n", 2, "column 'date': value '': expected a date"),
    ("response_id,channel,postcode\nR1,online,LS1 1AA\n", 1, "missing column 'date'"),
    (HEADER + "R1,2025-01-15,online,,LS1 1AA,,,,,,,\nR1,2025-01-16,online,,LS1 1AA,,,,,,,\n", 3,
     "duplicate response id: the same as row 2"),
]


@pytest.mark.parametrize("text,row,message", CORRUPT, ids=[
    "likert-out-of-range", "likert-unknown-text", "bad-channel", "bad-date", "empty-date",
    "missing-date-column", "duplicate-id"])
def test_import_surveys_rejects_corrupt_files_and_leaves_store_unchanged(gpkg_store, tmp_path,
                                                                         text, row, message):
    seed(gpkg_store, tmp_path)
    import_surveys(gpkg_store, [_write(tmp_path, CANONICAL, "good.csv")])
    before = gpkg_store.fingerprint()
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        import_surveys(gpkg_store, [path])
    assert message in str(info.value)
    assert (info.value.file, info.value.row) == (str(path), row)
    assert gpkg_store.fingerprint() == before


def test_import_surveys_bad_likert_leaves_both_backends_unchanged(store, tmp_path):
    seed(store, tmp_path)
    before = store.fingerprint()
    good = "R0,2025-01-14,online,,LS1 1AA,Drugs,4,4,,,,\n"
    path = _write(tmp_path, HEADER + good + "R1,2025-01-15,online,,LS1 1AA,,Maybe,,,,,\n")
    with pytest.raises(InputError, match=r"row 3, column 'confidence': value 'Maybe'"):
        import_surveys(store, [path])
    assert store.fingerprint() == before


@pytest.mark.real_data
def test_import_surveys_locates_anonymous_responses_by_real_leicester_postcodes(store, real,
                                                                              tmp_path):
    path = real / "leicester" / "postcodes" / "codepoint_open_2014_le.csv"
    cp = read_csv_table(path, header=False, names=[
        "postcode", "pq", "e", "n", "country", "nhs_r", "nhs_ha", "county", "district", "ward"])
    sample = cp.frame[cp.frame["district"] == "E06000016"].iloc[::500].reset_index(drop=True)
    x = sample["e"].astype(float).to_numpy()
    y = sample["n"].astype(float).to_numpy()
    with store.begin() as conn:
        store.insert_new(conn, "postcodes", pd.DataFrame({
            "postcode": normalise_postcodes(sample["postcode"]), **_points(x, y, store)}))
    rows = "".join(f"L{i},2022-0{1 + i % 9}-01,Door knock,,{pc},Burglary;Drugs,4,4,,,,\n"
                   for i, pc in enumerate(sample["postcode"]))
    report = import_surveys(store, [_write(tmp_path, HEADER + rows)])
    assert (report.read, report.imported, report.skipped) == (len(sample), len(sample), 0)
    got = store.read("surveys", order_by=["fid"])
    assert got["x"].tolist() == x.tolist()
    assert got["lat"].between(52.55, 52.7).all()  # Leicester city
    assert store.count("survey_priorities") == 2 * len(sample)
