# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.geo.cells import points_to_cells
from spatial_core.geo.crs import bng_to_lnglat
from spatial_core.io.sources import read_csv_table
from spatial_core.io.visits import UNKNOWN_ADDRESS, VISIT_OUTCOMES, import_visits

HEADER = "visit_id,uprn,visited_at,officer,outcome,setup_id,notes\n"


def _points(x, y, store):
    lng, lat = bng_to_lnglat(np.asarray(x, float), np.asarray(y, float))
    return {"lat": lat, "lng": lng, "x": np.asarray(x, float), "y": np.asarray(y, float),
            "cell": points_to_cells(lat, lng, store.h3_resolution), "geom": shapely.points(x, y)}


def seed(store, uprns=("1001", "1002"), x=(430010.0, 430050.0), y=(433510.0, 433520.0)):
    adr = pd.DataFrame({"uprn": list(uprns), "postcode": ["LS1 1AA"] * len(uprns),
                        **_points(list(x), list(y), store)})
    with store.begin() as conn:
        store.insert_new(conn, "addresses", adr)


CANONICAL = HEADER + (
    "V1,1001,2025-02-14T10:30:00,PC 1234 Smith,registered,setup-7,Keen on NHW\n"
    "V2,1002,14/02/2025 10:45,PCSO Jones,not in,setup-7,card left\n"
    "V3,9999,2025-02-14 11:00,PCSO Jones,Declined,setup-7,\n"
    "V4,001002,2025-02-15,PCSO Jones,Spoke,,\n"
    "V5,1001,2025-02-16T09:00:00,PC 1234 Smith,Survey completed,setup-7,\n"
)


def _write(tmp_path, text, name="visits.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_visits_canonical_file_places_visits_at_address_points(store, tmp_path):
    seed(store)
    report = import_visits(store, [_write(tmp_path, CANONICAL)])
    assert (report.read, report.imported, report.skipped) == (5, 4, 1)
    got = store.read("visits", order_by=["visit_id"]).set_index("visit_id")
    assert got.index.tolist() == ["V1", "V2", "V4", "V5"]
    assert got["uprn"].tolist() == ["1001", "1002", "1002", "1001"]
    assert got["visited_at"].tolist() == ["2025-02-14T10:30:00", "2025-02-14T10:45:00",
                                          "2025-02-15T00:00:00", "2025-02-16T09:00:00"]
    assert got["outcome"].tolist() == ["registered", "not_in", "spoke", "surveyed"]
    assert got["officer"].tolist() == ["PC 1234 Smith", "PCSO Jones", "PCSO Jones", "PC 1234 Smith"]
    assert got["setup_id"].tolist() == ["setup-7", "setup-7", None, "setup-7"]
    assert got["notes"].tolist() == ["Keen on NHW", "card left", None, None]
    assert got["x"].tolist() == [430010.0, 430050.0, 430050.0, 430010.0]
    assert got.geometry.y.tolist() == [433510.0, 433520.0, 433520.0, 433510.0]
    assert (got["cell"] != 0).all()
    assert report.reasons == {UNKNOWN_ADDRESS: {"count": 1, "rows": [4]}}


def test_import_visits_twice_adds_nothing_even_without_visit_ids(store, tmp_path):
    seed(store)
    text = ("UPRN,Visit Date,Officer Name,Result\n"
            "1001,2025-02-14 10:30,PC Smith,Nobody home\n"
            "1002,2025-02-14 10:40,PC Smith,Refused\n"
            "1001,2025-02-21 10:30,PC Smith,Signed up\n")
    path = _write(tmp_path, text)
    first = import_visits(store, [path])
    assert first.imported == 3
    got = store.read("visits", order_by=["visited_at"])
    assert got["outcome"].tolist() == ["not_in", "declined", "registered"]
    assert got["visit_id"].str.match(r"^v-[0-9a-f]{20}$").all()
    again = import_visits(store, [path])
    assert (again.imported, again.skipped) == (0, 3)
    assert again.reasons["already in the store"]["rows"] == [2, 3, 4]
    assert store.count("visits") == 3


CORRUPT = [
    (HEADER + "V1,1001,2025-02-14,PC Smith,had tea,,\n", 2,
     "column 'outcome': value 'had tea': expected an outcome: one of registered, surveyed"),
    (HEADER + "V1,1001,yesterday,PC Smith,registered,,\n", 2,
     "column 'visited_at': value 'yesterday': expected a date"),
    (HEADER + "V1,,2025-02-14,PC Smith,registered,,\n", 2,
     "expected the UPRN of the address visited; it is empty"),
    ("visit_id,uprn,visited_at\nV1,1001,2025-02-14\n", 1, "missing column 'outcome'"),
    (HEADER + "V1,1001,2025-02-14,PC Smith,registered,,\nV1,1002,2025-02-14,PC Smith,spoke,,\n",
     3, "duplicate visit: the same as row 2"),
    (HEADER + "V1,1001,2025-02-14," + "X" * 65 + ",registered,,\n", 2, "at most 64 characters"),
]


@pytest.mark.parametrize("text,row,message", CORRUPT, ids=[
    "bad-outcome", "bad-datetime", "empty-uprn", "missing-outcome-column", "duplicate-id",
    "officer-too-long"])
def test_import_visits_rejects_corrupt_files_and_leaves_store_unchanged(gpkg_store, tmp_path,
                                                                        text, row, message):
    seed(gpkg_store)
    import_visits(gpkg_store, [_write(tmp_path, CANONICAL, "good.csv")])
    before = gpkg_store.fingerprint()
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        import_visits(gpkg_store, [path])
    assert message in str(info.value)
    assert (info.value.file, info.value.row) == (str(path), row)
    assert gpkg_store.fingerprint() == before


def test_import_visits_bad_outcome_leaves_both_backends_unchanged(store, tmp_path):
    seed(store)
    before = store.fingerprint()
    path = _write(tmp_path, HEADER + "V1,1001,2025-02-14,PC Smith,registered,,\n"
                                     "V2,1002,2025-02-14,PC Smith,maybe,,\n")
    with pytest.raises(InputError, match=r"row 3, column 'outcome': value 'maybe'"):
        import_visits(store, [path])
    assert store.fingerprint() == before


def test_visit_outcomes_vocabulary():
    assert set(VISIT_OUTCOMES) == {"registered", "surveyed", "spoke", "not_in", "declined",
                                   "no_access"}


@pytest.mark.real_data
def test_import_visits_at_addresses_on_real_leeds_code_point_points(store, real, tmp_path):
    path = real / "leeds" / "postcodes" / "codepoint_open_2014_ls.csv"
    cp = read_csv_table(path, header=False, names=[
        "postcode", "pq", "e", "n", "country", "nhs_r", "nhs_ha", "county", "district", "ward"])
    sample = cp.frame[cp.frame["district"] == "E08000035"].iloc[::2000].reset_index(drop=True)
    x = sample["e"].astype(float).to_numpy()
    y = sample["n"].astype(float).to_numpy()
    uprns = [str(72000000 + i) for i in range(len(sample))]
    seed(store, uprns, x, y)
    rows = "".join(f"{u},2025-03-0{1 + i % 9}T18:00:00,PCSO Khan,not in\n"
                   for i, u in enumerate(uprns))
    report = import_visits(store, [_write(tmp_path, "uprn,visited_at,officer,outcome\n" + rows)])
    assert (report.read, report.imported, report.skipped) == (len(sample), len(sample), 0)
    got = store.read("visits", order_by=["uprn"])
    assert got["x"].tolist() == x.tolist() and got["y"].tolist() == y.tolist()
    assert got["lat"].between(53.6, 54.0).all()  # Leeds
