# SPDX-License-Identifier: GPL-3.0-or-later
"""The census population base: ONS/Nomis bulk CSV tables and Origins files into the store,
errors naming file, row and column, all-or-nothing and idempotent imports, and representation
against the base with values computed by hand."""
from __future__ import annotations

import pandas as pd
import pytest
import shapely

from spatial_core import InputError
from spatial_core.analytics.priorities import wilson_interval
from spatial_core.analytics.representation import population_base, representation
from spatial_core.io.census import ETHNIC_19, census_group
from spatial_core.io.imports import import_files
from spatial_core.io.members import ETHNICITIES

X0, Y0 = 430000.0, 290000.0
# OA1: four households in beat A; OA2: three in beat A and one in beat B; OA3: four in beat B.
HOMES = [("OA1", "beat:A")] * 4 + [("OA2", "beat:A")] * 3 + [("OA2", "beat:B")] + \
    [("OA3", "beat:B")] * 4

# The real TS021 header (census2021-ts021-oa.csv): totals of the five broad groups, then their
# detailed categories.
TOPIC = "Ethnic group"
BROAD = ["Asian, Asian British or Asian Welsh",
         "Black, Black British, Black Welsh, Caribbean or African",
         "Mixed or Multiple ethnic groups", "White", "Other ethnic group"]
HEADER = ["date", "geography", "geography code", f"{TOPIC}: Total: All usual residents"]
for broad in BROAD:
    HEADER.append(f"{TOPIC}: {broad}")
    HEADER += [f"{TOPIC}: {v}" for v in ETHNIC_19.values() if v.startswith(broad + ":")]


def ts021_row(oa: str, counts: dict[str, int]) -> list:
    row = ["2021", oa, oa, sum(counts.values())]
    for broad in BROAD:
        kids = {k: v for k, v in ETHNIC_19.items() if v.startswith(broad + ":")}
        row.append(sum(counts.get(k, 0) for k in kids))
        row += [counts.get(k, 0) for k in kids]
    return row


CENSUS = {"OA1": {"white_british": 6, "white_other": 4},
          "OA2": {"white_british": 8, "asian_pakistani": 4},
          "OA3": {"white_british": 10}}


def write_ts021(path, rows=None):
    frame = pd.DataFrame(rows or [ts021_row(oa, c) for oa, c in CENSUS.items()], columns=HEADER)
    frame.to_csv(path, index=False)
    return path


def _box(x0, x1):
    return shapely.MultiPolygon([shapely.box(X0 + x0, Y0, X0 + x1, Y0 + 1000)])


def build_store(store, members=None) -> None:
    areas = pd.DataFrame({
        "area_id": ["force:F", "npa:N", "beat:A", "beat:B"],
        "level": ["force", "npa", "beat", "beat"], "code": ["F", "N", "A", "B"],
        "name": ["Force", "Npa", "Beat A", "Beat B"],
        "parent_id": [None, "force:F", "npa:N", "npa:N"], "boundary_set": "default",
        "geom": [_box(0, 2000), _box(0, 2000), _box(0, 1000), _box(1000, 2000)]})
    addresses = pd.DataFrame({
        "uprn": [str(i + 1) for i in range(len(HOMES))],
        "x": [X0 + 100 + 150 * i for i in range(len(HOMES))], "y": Y0 + 500, "cell": 0,
        "oa_code": [oa for oa, _ in HOMES], "beat_id": [b for _, b in HOMES]})
    with store.begin() as conn:
        store.insert_new(conn, "areas", areas)
        store.insert_new(conn, "addresses", addresses)
        if members is not None:
            store.insert_new(conn, "members", members)


def members_frame(ethnicities: dict[str, str], **extra) -> pd.DataFrame:
    """Members at the given UPRNs with their ethnicity slugs."""
    x = {str(i + 1): X0 + 100 + 150 * i for i in range(len(HOMES))}
    return pd.DataFrame({"member_id": [f"M{u}" for u in ethnicities], "uprn": list(ethnicities),
                         "x": [x[u] for u in ethnicities], "y": Y0 + 500, "cell": 0,
                         "ethnicity": list(ethnicities.values()), "joined": "2025-01-01",
                         **extra})


def test_the_19_census_categories_map_to_19_member_slugs_and_five_broad_groups():
    g, parent, known = census_group("TS021", list(ETHNIC_19.values()))
    assert g.tolist() == list(ETHNIC_19) and known.all()
    assert set(parent) == {"asian", "black", "mixed", "white", "other"}
    assert [ETHNICITIES[k] for k in ETHNIC_19] == parent.tolist()


def test_ts021_import_stores_the_leaf_categories_of_the_force_output_areas(store, tmp_path):
    gpkg_store = store  # GeoPackage and PostGIS alike
    build_store(gpkg_store)
    rows = [ts021_row(oa, c) for oa, c in CENSUS.items()] + [ts021_row("E00999999", {"white": 0})]
    path = write_ts021(tmp_path / "census2021-ts021-oa.csv", rows)
    report = import_files(gpkg_store, "census", [path], table="TS021")
    assert (report.read, report.imported, report.skipped) == (4, 3, 1)
    assert "output area not in the store" in next(iter(report.reasons))
    c = gpkg_store.read("census_counts", ["census_table", "oa_code", "grp", "parent", "count"])
    assert len(c) == 3 * 19 and set(c["census_table"]) == {"TS021"}
    got = c[c["count"] > 0].set_index(["oa_code", "grp"])["count"].to_dict()
    assert got == {(oa, g): n for oa, cs in CENSUS.items() for g, n in cs.items()}
    # Idempotent: the same file again adds nothing.
    again = import_files(gpkg_store, "census", [path])
    assert again.imported == 0 and again.skipped == 4
    assert gpkg_store.count("census_counts") == 3 * 19


@pytest.mark.parametrize("change, message, column", [
    (lambda h, r: (["date", "area", *h[2:]], r), "expected the header to start with", "area"),
    (lambda h, r: (h, [[*r[0][:3], 99, *r[0][4:]], *r[1:]]),
     "expected the total to equal the sum", "Ethnic group: Total: All usual residents"),
    (lambda h, r: (h, [[*r[0][:5], "x", *r[0][6:]], *r[1:]]), "expected a count of residents",
     HEADER[5]),
    (lambda h, r: ([*h[:3], *[c.replace("Ethnic group", "Religion") for c in h[3:]]], r),
     "the header is table TS030", None),
])
def test_other_layouts_are_errors_naming_file_row_and_column_and_change_nothing(
        gpkg_store, tmp_path, change, message, column):
    build_store(gpkg_store)
    header, rows = change(HEADER, [ts021_row(oa, c) for oa, c in CENSUS.items()])
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    with pytest.raises(InputError, match=message) as err:
        import_files(gpkg_store, "census", [path], table="TS021")
    assert err.value.file == str(path) and err.value.row in (1, 2)
    if column:
        assert err.value.column == column
    assert gpkg_store.count("census_counts") == 0 and gpkg_store.count("lpt_imports") == 0


def test_the_base_shares_an_output_area_between_its_beats_by_households(gpkg_store, tmp_path):
    build_store(gpkg_store)
    import_files(gpkg_store, "census", [write_ts021(tmp_path / "ts021.csv")])
    base = population_base(gpkg_store, "ethnicity_detailed").set_index(["area_id", "group"])
    # OA2 has three of its four households in beat A: 3/4 of its residents go there.
    assert base.loc[("beat:A", "white_british"), "count"] == pytest.approx(6 + 8 * 0.75)
    assert base.loc[("beat:B", "white_british"), "count"] == pytest.approx(10 + 8 * 0.25)
    assert base.loc[("beat:A", "asian_pakistani"), "count"] == pytest.approx(3)
    broad = population_base(gpkg_store, "ethnicity").set_index(["area_id", "group"])["count"]
    assert broad[("beat:A", "white")] == pytest.approx(16)


def test_representation_by_ethnicity_against_the_census_by_hand(store, tmp_path):
    gpkg_store = store  # GeoPackage and PostGIS alike
    # Beat A: seven members at UPRNs 1-7: five white British, one other White, one
    # Pakistani; beat B: one white British and one who did not say.
    eth = {"1": "white_british", "2": "white_british", "3": "white_british",
           "4": "white_other", "5": "white_british", "6": "asian_pakistani",
           "7": "white_british", "9": "white_british", "10": "not_stated"}
    build_store(gpkg_store, members_frame(eth))
    import_files(gpkg_store, "census", [write_ts021(tmp_path / "ts021.csv")])
    t = representation(gpkg_store, by="ethnicity_detailed", as_of="2026-06-01").set_index(
        ["area_id", "group"])
    # Beat A population: white British 6 + 6 = 12, other White 4, Pakistani 3 (19 in all).
    row = t.loc[("beat:A", "white_other")]
    assert row["population_share"] == pytest.approx(4 / 19)
    assert row["members"] == 1 and row["member_share"] == pytest.approx(1 / 7)
    assert row["member_ratio"] == pytest.approx((1 / 7) / (4 / 19))
    lo, hi = wilson_interval([1], [7])
    assert row["member_ci_low"] == pytest.approx(lo[0] / (4 / 19))
    assert row["member_ci_high"] == pytest.approx(hi[0] / (4 / 19))
    assert bool(row["member_below"]) and row["group_name"] == "White: Other White"
    assert row["member_expected"] == pytest.approx(7 * 4 / 19)
    assert not bool(t.loc[("beat:A", "white_british"), "member_below"])  # 5/7 against 12/19
    # The five broad groups: white 16/19 of beat A against 6/7 of its members.
    b = representation(gpkg_store, by="ethnicity", as_of="2026-06-01").set_index(
        ["area_id", "group"])
    assert b.loc[("beat:A", "white"), "member_ratio"] == pytest.approx((6 / 7) / (16 / 19))
    assert b.loc[("beat:A", "white"), "group_name"] == "White"
    # A minimum expected n: beat A's one other White member is 1.47 expected, below 2.
    m = representation(gpkg_store, by="ethnicity_detailed", as_of="2026-06-01",
                       min_n=2).set_index(["area_id", "group"])
    assert not bool(m.loc[("beat:A", "white_other"), "member_below"])
    assert "too few to judge" in m.loc[("beat:A", "white_other"), "note"]


def test_without_a_census_base_the_note_says_which_table_to_import(gpkg_store):
    build_store(gpkg_store, members_frame({"1": "white_british"}))
    t = representation(gpkg_store, by="language", as_of="2026-06-01")
    assert t["note"].str.contains("import census table TS024").all()


def test_origins_base_and_members_self_declared_language(gpkg_store, tmp_path):
    members = members_frame({"1": "white_british", "2": "white_other", "3": "white_british",
                             "4": "white_british"},
                            origins=["british", "eastern_european", "british", "british"],
                            language=["english", "polish", "english", "english"])
    build_store(gpkg_store, members)
    path = tmp_path / "origins.csv"
    path.write_text("oa_code,origins,count\nOA1,British,6\nOA1,Eastern European,4\n"
                    "OA3,British,10\n")
    report = import_files(gpkg_store, "census", [path])
    assert report.imported == 3
    t = representation(gpkg_store, by="origins", as_of="2026-06-01").set_index(
        ["area_id", "group"])
    row = t.loc[("beat:A", "eastern_european")]
    assert row["population_share"] == pytest.approx(0.4)
    assert row["member_ratio"] == pytest.approx(0.25 / 0.4) and bool(row["member_below"])
    assert row["group_name"] == "Eastern European"
    # The same group twice in an output area is an error naming the second row.
    dup = tmp_path / "dup.csv"
    dup.write_text("oa_code,origins,count\nOA1,British,6\nOA1,british,4\n")
    with pytest.raises(InputError, match="duplicate") as err:
        import_files(gpkg_store, "census", [dup], table="origins")
    assert err.value.row == 3


def test_member_exports_may_declare_language_religion_and_origins(gpkg_store, tmp_path):
    build_store(gpkg_store)
    path = tmp_path / "members.csv"
    path.write_text("Member ID,UPRN,Main Language,Religion,Origins Group\n"
                    "M1,1,Polish,Christianity,Eastern European\n"
                    "M2,2,Other European language (EU): Polish,Pagan,British\n"
                    "M3,3,,Prefer not to say,\n")
    report = import_files(gpkg_store, "members", [path])
    assert report.imported == 3
    assert any("religion 'Pagan'" in k for k in report.notes)
    got = gpkg_store.read("members", ["member_id", "language", "religion", "origins"]
                          ).set_index("member_id").sort_index()
    assert got["language"].tolist() == ["polish", "polish", None]
    assert got["religion"].tolist() == ["christian", "other_religion", "not_stated"]
    assert got["origins"].tolist() == ["eastern_european", "british", None]
    # An export without the religion column leaves the stored religions as they are.
    path.write_text("Member ID,UPRN,Main Language\nM1,1,English\n")
    again = import_files(gpkg_store, "members", [path])
    assert again.updated == 1
    row = gpkg_store.read("members", ["member_id", "language", "religion"]).set_index(
        "member_id").loc["M1"]
    assert (row["language"], row["religion"]) == ("english", "christian")


def test_cli_import_census_reports_and_names_a_bad_file(tmp_path):
    import subprocess
    import sys

    from spatial_core import open_store

    store_path = tmp_path / "s.gpkg"
    with open_store(store_path) as s:
        build_store(s)
    good = write_ts021(tmp_path / "ts021.csv")

    def lpt(*args):
        return subprocess.run([sys.executable, "-m", "lpt_cli.main", "--store", str(store_path),
                               *map(str, args)], capture_output=True, text=True)

    ok = lpt("import", "census", good, "--table", "TS021")
    assert ok.returncode == 0, ok.stderr
    assert "census: read 3, imported 3, skipped 0" in ok.stdout
    bad = tmp_path / "other.csv"
    bad.write_text("code,residents\nE00000001,5\n")
    err = lpt("import", "census", bad, "--table", "TS021")
    assert err.returncode != 0
    assert "other.csv, row 1, column 'code'" in err.stderr
    assert "expected the header to start with 'date', 'geography', 'geography code'" in \
        err.stderr


def _surveys(store) -> None:
    """Six responses in beat A: online R1, R2 (both member M1, in two community groups) and
    R3 (no member); at the door R4, R5 and R6 (no priority named)."""
    s = pd.DataFrame({
        "response_id": [f"R{i}" for i in range(1, 7)], "responded": "2026-01-10",
        "channel": ["online"] * 3 + ["door_knock"] * 3,
        "member_id": ["M1", "M1", None, None, None, None],
        "x": X0 + 250, "y": Y0 + 500, "cell": 0,
        "confidence": [4, 2, 5, 3, 3, 4], "feel_safe": [5, 5, 4, 2, 3, 4]})
    pri = pd.DataFrame({"response_id": ["R1", "R1", "R2", "R3", "R4", "R5"],
                        "priority": ["asb", "drugs", "asb", "drugs", "asb", "asb"]})
    groups = pd.DataFrame({"member_id": ["M1", "M1"],
                           "grp": ["key_individual", "neighbourhood_watch"]})
    with store.begin() as conn:
        store.insert_new(conn, "surveys", s)
        store.insert_new(conn, "survey_priorities", pri)
        store.insert_new(conn, "member_groups", groups)


def test_priorities_and_confidence_by_channel_and_group_by_hand(gpkg_store):
    from spatial_core.analytics.priorities import priorities_by_group

    build_store(gpkg_store, members_frame({"1": "white_british"}))
    _surveys(gpkg_store)
    out = priorities_by_group(gpkg_store, by="channel", level="force", min_n=3)
    people = out["people"].set_index("group")
    # Online: M1 twice and one non-member: 2 people, 3 responses, 4 issues named.
    assert people.loc["online", ["people", "responses", "issues"]].tolist() == [2, 3, 4]
    assert people.loc["door_knock", ["people", "responses", "issues"]].tolist() == [3, 3, 2]
    p = out["priorities"].set_index(["group", "priority"])
    assert p.loc[("online", "asb"), "share"] == pytest.approx(2 / 3)
    lo, hi = wilson_interval([2], [3])
    assert p.loc[("online", "asb"), ["ci_low", "ci_high"]].tolist() == pytest.approx([lo[0],
                                                                                       hi[0]])
    # At the door two of three named a priority (R6 none): n = 2, below min_n 3.
    assert p.loc[("door_knock", "asb"), "n"] == 2
    assert not bool(p.loc[("door_knock", "asb"), "enough"])
    sc = out["scores"].set_index("group")
    assert sc.loc["online", "confidence"] == pytest.approx(11 / 3)
    assert sc.loc["online", "confidence_n"] == 3
    by_group = priorities_by_group(gpkg_store, by="group", level="force")["people"].set_index(
        "group")
    assert by_group.loc["key_individual", "responses"] == 2
    assert by_group.loc["key_individual", "people"] == 1
    assert by_group.loc["not_a_member", "responses"] == 4
    # Partner and public views: counts 1..k-1 withheld with what they give away.
    hidden = priorities_by_group(gpkg_store, by="channel", level="force", suppress_below=3)
    hp = hidden["people"].set_index("group")
    assert hp.loc["online", "people"] is None and hp.loc["online", "responses"] == 3
    hq = hidden["priorities"].set_index(["group", "priority"])
    assert hq.loc[("door_knock", "asb"), "share"] is None
    assert hq.loc[("online", "theft"), "votes"] == 0  # zero is published


def test_language_and_country_of_birth_tables_are_told_from_the_header(gpkg_store, tmp_path):
    build_store(gpkg_store)
    ts024 = tmp_path / "ts024.csv"
    ts024.write_text(
        'date,geography,geography code,Main language (detailed): Total: All usual residents '
        'aged 3 and over,Main language (detailed): English (English or Welsh in Wales),'
        'Main language (detailed): Other European language (EU),'
        'Main language (detailed): Other European language (EU): Polish,'
        'Main language (detailed): Other European language (EU): Romanian\n'
        '2021,OA1,OA1,10,6,4,3,1\n')
    ts004 = tmp_path / "ts004.csv"
    ts004.write_text(
        'date,geography,geography code,Country of birth: Total: All usual residents,'
        'Country of birth: Europe: United Kingdom,Country of birth: Europe: EU countries: '
        'Poland\n2021,OA1,OA1,9,7,2\n')
    report = import_files(gpkg_store, "census", [ts024, ts004])
    assert report.imported == 2
    c = gpkg_store.read("census_counts", ["census_table", "grp", "parent", "count"])
    got = {(t, g): n for t, g, n in zip(c["census_table"], c["grp"], c["count"], strict=True)}
    # Only the leaves: the EU subtotal (4) is not stored, its two languages are.
    assert got == {("TS024", "english"): 6, ("TS024", "polish"): 3, ("TS024", "romanian"): 1,
                   ("TS004", "united_kingdom"): 7, ("TS004", "poland"): 2}
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("date,geography,geography code,Religion: Total: All usual residents,"
                     "Ethnic group: White\n2021,OA1,OA1,1,1\n")
    with pytest.raises(InputError, match="one table per file") as err:
        import_files(gpkg_store, "census", [mixed])
    assert err.value.column == "Ethnic group: White"
