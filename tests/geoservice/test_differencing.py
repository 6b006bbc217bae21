# SPDX-License-Identifier: GPL-3.0-or-later
"""A differencing attack on what partners and the public see, over the whole demo force.

The attacker reads every published aggregate (``areas`` and ``area_profiles``) and knows the
geography: children of one parent add up to it, apart from a residual (points with no ward,
say) that they can work out when every other term is published; two overlapping areas of
different trees (a beat and a ward) differ by their parts outside each other, so when one
part is empty the difference is the other part. The test knows the exact counts (the force
analyst's answers and the store) and checks that no count the attacker can work out, in
one step from published values, lies between 1 and k-1; and that every published count is
exact.
"""
from __future__ import annotations

import pandas as pd
import pytest

COLUMNS = {"areas": ("households", "members", "crimes"),
           "area_profiles": ("households", "members", "crimes", "respondents")}


def _frame(service, collection: str, **kw) -> pd.DataFrame:
    status, body = service.json(f"/collections/{collection}/items?skipGeometry=true"
                                "&limit=1000", **kw)
    assert status == 200, body
    return pd.DataFrame([f["properties"] for f in body["features"]]).set_index("area_id")


def _small(v, k: int) -> bool:
    return 1 <= int(v) < k


@pytest.fixture(scope="module")
def truth(service):
    """Exact counts per overlap pair, counted here from the store's points."""
    from spatial_core import open_store
    from spatial_core.analytics.disclosure import counts_and_overlaps
    from spatial_core.analytics.population import respondents_frame

    s = open_store(service.store, create=False)
    try:
        counts, pairs = counts_and_overlaps(s)
        r = respondents_frame(s)
        named = set(s.read("survey_priorities", ["response_id"])["response_id"])
    finally:
        s.close()
    r = r[r["response_id"].isin(named)]
    resp = pd.concat([r.groupby(["beat_id", "ward_id"]).size(),
                      r.groupby(["npa_id", "ward_id"]).size()])
    resp.index.names = ["area_a", "area_b"]
    pairs = pairs.set_index(["area_a", "area_b"])
    pairs = pairs.join(resp.rename("respondents"), how="outer").fillna(0).astype("int64")
    return {"tree": counts.set_index("area_id"), "pairs": pairs}


@pytest.mark.parametrize("collection", ["areas", "area_profiles"])
def test_no_small_count_can_be_worked_out_from_public_aggregates(service, truth, collection):
    k = service.k
    public = _frame(service, collection)
    exact = _frame(service, collection, token=service.token("force_analyst"))
    tree = truth["tree"]
    assert set(public.index) == set(exact.index) == set(tree.index)
    withheld = 0
    for col in COLUMNS[collection]:
        pub = public[col]
        ex = exact[col].astype("int64")
        shown = pub.notna()
        withheld += int((~shown).sum())
        # Published counts are exact and never small.
        assert (pub[shown].astype("int64") == ex[shown]).all(), col
        assert not pub[shown].map(lambda v, k=k: _small(v, k)).any(), col
        # Tree equations: parent = children + residual; one unknown term gives itself away.
        for (parent, level), kids in tree[tree["parent_id"].notna()].groupby(
                ["parent_id", "level"]):
            children = list(kids.index)
            residual = int(ex[parent] - ex[children].sum())
            unknown = [a for a in [parent, *children] if not shown[a]]
            residual_unknown = _small(residual, k)
            if len(unknown) + residual_unknown == 1:
                worked_out = residual if residual_unknown else int(ex[unknown[0]])
                assert not _small(worked_out, k), (col, parent, level, unknown, worked_out)
        # Overlapping areas of two trees: a - b = (a outside b) - (b outside a).
        for (a, b), row in truth["pairs"].iterrows():
            if a not in ex.index or b not in ex.index or not (shown[a] and shown[b]):
                continue
            a_only, b_only = int(ex[a] - row[col]), int(ex[b] - row[col])
            if a_only == 0:
                assert not _small(b_only, k), (col, a, b, b_only)
            if b_only == 0:
                assert not _small(a_only, k), (col, a, b, a_only)
    assert withheld > 0  # k = 40 on the small demo: the attack has something to aim at


def test_a_profile_withheld_for_differencing_says_so(service):
    public = _frame(service, "area_profiles")
    note = public.loc[public["respondents"].isna(), "priority_note"]
    assert len(note) and note.str.startswith(f"withheld: fewer than {service.k} respondents "
                                             "here, or withheld so that").all()
    assert public.loc[public["respondents"].isna(), "priorities"].isna().all()
