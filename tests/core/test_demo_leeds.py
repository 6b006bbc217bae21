# SPDX-License-Identifier: GPL-3.0-or-later
"""spatial_core.demo.leeds: synthetic households, members, surveys and visits on the real
Leeds wards, output areas, postcodes, streets and crime."""
from __future__ import annotations

import pandas as pd
import pytest

from spatial_core.errors import InputError
from spatial_core.io.imports import import_files

pytestmark = [pytest.mark.real_data, pytest.mark.slow]


def _load_leeds(store, real):
    d = real / "leeds"
    import_files(store, "boundaries", [d / "boundaries/leeds_wards_2017.geojson"], level="beat",
                 crs=27700)
    import_files(store, "classification", [d / "geodemographics/leeds_oa_oac2011.geojson"],
                 crs=27700)
    import_files(store, "postcodes", [d / "postcodes/codepoint_open_2014_ls.csv"])
    import_files(store, "streets", [d / "streets/leeds_central_osm_2022.gpkg"])
    import_files(store, "crimes", [d / "crime/2017-07-west-yorkshire-street.csv"])


def _rows(path) -> int:
    return len(pd.read_csv(path, dtype=str, keep_default_na=False))


def test_synthetic_leeds_people_load_with_the_counts_written(store, real, tmp_path):
    from spatial_core.demo.leeds import add_synthetic_people
    from spatial_core.store.status import store_status

    _load_leeds(store, real)
    out = add_synthetic_people(store, tmp_path / "people", households=2_000)
    counts = store_status(store)["counts"]
    for kind in ("addresses", "members", "surveys", "visits"):
        written = _rows(out.files[kind])
        assert out.counts[kind] == written, kind
        r = out.reports[kind]
        assert (r.read, r.imported, r.skipped) == (written, written, 0), kind
        assert counts[kind] == written, kind
    assert 1_900 <= out.counts["addresses"] <= 2_000  # a few fall outside every ward/OA
    assert out.counts["members"] > 150 and out.counts["surveys"] > 20
    a = store.read("addresses", ["uprn", "postcode", "oa_code", "street_id", "beat_id"])
    assert a["postcode"].str.startswith("LS").all()
    assert a["street_id"].notna().all() and a["beat_id"].str.startswith("beat:E0500").all()
    assert a["oa_code"].str.startswith("E00").all()
    # a second call on the same store adds nothing new (same seed, same ids)
    again = add_synthetic_people(store, tmp_path / "again", households=2_000)
    assert all(r.imported == 0 for r in again.reports.values())
    for kind in out.files:
        assert out.files[kind].read_bytes() == again.files[kind].read_bytes(), kind


def test_synthetic_leeds_members_under_represent_some_supergroup(gpkg_store, real, tmp_path):
    from spatial_core.analytics.representation import representation
    from spatial_core.demo.leeds import add_synthetic_people

    _load_leeds(gpkg_store, real)
    add_synthetic_people(gpkg_store, tmp_path / "people")
    table = representation(gpkg_store, area_level="beat")
    by_group = table.groupby("group")[["population", "members"]].sum()
    by_group = by_group[by_group["population"] >= 100]
    ratio = (by_group["members"] / by_group["members"].sum()) / (
        by_group["population"] / by_group["population"].sum())
    assert ratio.min() < 0.7, ratio.to_dict()
    assert ratio.idxmin() == "2"  # students, as in the demo model
    assert table["member_below"].any()


def test_synthetic_people_need_streets_and_classified_areas(gpkg_store, tmp_path):
    from spatial_core.demo.leeds import add_synthetic_people

    before = gpkg_store.fingerprint()
    with pytest.raises(InputError, match="street units.*beats or wards.*output areas"):
        add_synthetic_people(gpkg_store, tmp_path / "people")
    assert gpkg_store.fingerprint() == before
