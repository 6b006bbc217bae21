# SPDX-License-Identifier: GPL-3.0-or-later
"""Engagement tracked, and the effect of feedback on confidence.

:func:`engagement` counts, per message, area, group or sender, what happened to the members
a message was prepared for:

- ``recipients``: not held back (the preview's reach); ``held``: held back;
- ``sent``: a send was attempted (``sent``, ``failed`` or ``uncertain``); ``delivered``:
  accepted by the mail server or the platform (``sent``); ``bounced``: refused for good
  (``failed``);
- ``replied``: members who replied to it; ``unsubscribed``: members who opted out within
  :data:`ATTRIBUTION_DAYS` of it, when it was the last message they had been sent;
  ``surveys``: survey responses given within :data:`ATTRIBUTION_DAYS` of it, likewise;
- rates: ``delivered_rate`` (of sent), ``reply_rate``, ``unsubscribe_rate`` and
  ``survey_rate`` (of delivered). Unsubscribe rates per area and per sender show
  over-messaging.

With ``by="group"`` it compares who replies with who was sent to, by geodemographic class
(``oac``) and by age band: each group's share of members reached and of members who replied,
and their ratio (below 1: the group replies less than its share). Counts from 1 to ``k - 1``
are withheld (None), and rates computed from them; for areas the rule of
:func:`spatial_core.analytics.disclosure.suppress_counts` also stops differencing a beat out
of its npa. ``k=None`` gives exact counts (police use).

:func:`feedback_effect` estimates the effect of being sent "You said, we did" on confidence:
a difference in differences between members who were sent it and members of the same beats
who were not, matched exactly on their baseline confidence band and their group, with a
normal-approximation confidence interval. It is observational (see :class:`FeedbackEffect`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from spatial_core.engagement.replies import in_scope
from spatial_core.errors import InputError
from spatial_core.store import schema

__all__ = ["ATTRIBUTION_DAYS", "BY", "COUNT_COLUMNS", "engagement", "FeedbackEffect",
           "feedback_effect", "confidence_band", "OBSERVATIONAL"]

ATTRIBUTION_DAYS = 28
"""An opt-out or a survey response counts for the last message sent in the days before."""
BY = ("area", "message", "sender", "group")
COUNT_COLUMNS = ["recipients", "held", "sent", "delivered", "bounced", "replied",
                 "unsubscribed", "surveys"]
_RATES = {"delivered_rate": ("delivered", "sent"), "reply_rate": ("replied", "delivered"),
          "unsubscribe_rate": ("unsubscribed", "delivered"),
          "survey_rate": ("surveys", "delivered")}
_AREA_LEVELS = ("beat", "npa", "ward", "force")


def _recipients(store, scope_areas) -> pd.DataFrame:
    """One row per (message, member) prepared, with the message's kind, sender and times and
    the counts of each outcome as 0/1 columns."""
    msg = store.read("messages", ["message_id", "kind", "subject", "created_by", "created_at",
                                  "sent_at"])
    rec = store.read("message_recipients", ["message_id", "member_id", "state", "sent_at",
                                            "area_id"])
    rec = rec[in_scope(rec["area_id"], scope_areas)]
    rec = rec.merge(msg.rename(columns={"sent_at": "message_sent_at"}), on="message_id",
                    how="inner")
    state = rec["state"]
    rec["recipients"] = (state != "held").astype("int64")
    rec["held"] = (state == "held").astype("int64")
    rec["sent"] = state.isin(["sent", "failed", "uncertain"]).astype("int64")
    rec["delivered"] = (state == "sent").astype("int64")
    rec["bounced"] = (state == "failed").astype("int64")
    rec["at"] = rec["sent_at"].fillna(rec["message_sent_at"]).fillna(rec["created_at"])
    replies = store.read("replies", ["message_id", "member_id"]).drop_duplicates()
    replies["replied"] = 1
    rec = rec.merge(replies, on=["message_id", "member_id"], how="left")
    rec["replied"] = rec["replied"].fillna(0).astype("int64")
    delivered = rec[rec["delivered"] == 1]
    for col, events in (("unsubscribed", _opt_out_events(store)),
                        ("surveys", _survey_events(store))):
        hit = _attribute(delivered, events)
        rec = rec.merge(hit.rename(col), left_on=["message_id", "member_id"],
                        right_index=True, how="left")
        rec[col] = rec[col].fillna(0).astype("int64")
    return rec.reset_index(drop=True)


def _opt_out_events(store) -> pd.DataFrame:
    o = store.read("opt_outs", ["member_id", "opted_out_at"])
    return o.rename(columns={"opted_out_at": "t"})


def _survey_events(store) -> pd.DataFrame:
    s = store.read("surveys", ["member_id", "responded"],
                   where=schema.surveys.c.member_id.isnot(None))
    return s.rename(columns={"responded": "t"})


def _attribute(delivered: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """Events per (message, member): each event goes to the member's last delivered message
    at most :data:`ATTRIBUTION_DAYS` before it (same day included)."""
    idx = pd.MultiIndex.from_arrays([[], []], names=["message_id", "member_id"])
    if not len(delivered) or not len(events):
        return pd.Series([], index=idx, dtype="int64")
    d = delivered[["message_id", "member_id", "at"]].copy()
    d["t"] = pd.to_datetime(d["at"].str.slice(0, 10))
    e = events.dropna().copy()
    e["t"] = pd.to_datetime(e["t"].str.slice(0, 10))
    e = e[e["member_id"].isin(set(d["member_id"]))]
    if not len(e):
        return pd.Series([], index=idx, dtype="int64")
    hit = pd.merge_asof(e.sort_values("t"), d.sort_values("t")[["t", "member_id",
                                                                "message_id"]],
                        on="t", by="member_id", direction="backward",
                        tolerance=pd.Timedelta(days=ATTRIBUTION_DAYS))
    hit = hit.dropna(subset=["message_id"])
    return hit.groupby(["message_id", "member_id"]).size().astype("int64")


def _rates(out: pd.DataFrame) -> pd.DataFrame:
    for name, (num, den) in _RATES.items():
        n = pd.to_numeric(out[num], errors="coerce")
        d = pd.to_numeric(out[den], errors="coerce")
        r = (n / d.where(d > 0)).astype("float64")
        out[name] = r.where(n.notna() & d.notna(), np.nan)
    return out


def _withhold(out: pd.DataFrame, cols: list[str], k: int) -> pd.DataFrame:
    """Primary suppression of each count, then the one identity inside a row
    (``sent = delivered + bounced``): when one of its terms is withheld, the smallest other
    non-zero term goes too."""
    for c in cols:
        v = out[c].astype(object)
        small = pd.to_numeric(v, errors="coerce").between(1, k - 1)
        out[c] = v.where(~small, None)
    return _row_identity(out)


def _row_identity(out: pd.DataFrame) -> pd.DataFrame:
    terms = ["sent", "delivered", "bounced"]
    if not set(terms) <= set(out.columns):
        return out
    for i in range(len(out)):
        row = out.iloc[i]
        hidden = [t for t in terms if row[t] is None]
        if len(hidden) == 1:
            others = [t for t in terms if t not in hidden and row[t]]
            if others:
                smallest = min(others, key=lambda t: row[t])
                out.iat[i, out.columns.get_loc(smallest)] = None
    return out


def engagement(store, *, by: str = "area", level: str = "beat", k: int | None = 5,
               scope_areas: Iterable[str] | None = None) -> pd.DataFrame:
    """Engagement figures per message, area, sender or group.

    Parameters
    ----------
    by : {"area", "message", "sender", "group"}
    level : {"beat", "npa", "ward", "force"}
        The areas of ``by="area"`` (the member's area when the message was prepared).
    k : int or None
        Counts from 1 to ``k - 1`` are withheld (None); None gives exact counts.
    scope_areas : list of str, optional
        Only recipients in these areas (beats; None = the whole force).

    Returns
    -------
    pandas.DataFrame
        The key columns (``area_id`` and ``area_name``; ``message_id``, ``kind``, ``subject``,
        ``created_by``, ``sent_at``; ``created_by``; or ``dimension``, ``group``), the counts
        of :data:`COUNT_COLUMNS` and the rates. For ``group``: ``dimension`` (``oac``,
        ``age_band``), ``group``, ``delivered``, ``replied``, ``share_delivered``,
        ``share_replied``, ``ratio``.
    """
    if by not in BY:
        raise InputError(f"by {by!r} is not one of {', '.join(BY)}")
    if level not in _AREA_LEVELS:
        raise InputError(f"level {level!r} is not one of {', '.join(_AREA_LEVELS)}")
    if k is not None and int(k) < 2:
        raise InputError(f"k must be at least 2 (got {k})")
    rec = _recipients(store, scope_areas)
    if by == "group":
        return _by_group(store, rec, k)
    if by == "message":
        keys = ["message_id", "kind", "subject", "created_by", "message_sent_at"]
        out = rec.groupby(keys, dropna=False)[COUNT_COLUMNS].sum().reset_index()
        out = out.rename(columns={"message_sent_at": "sent_at"}).sort_values(
            ["sent_at", "message_id"], ascending=[False, True], na_position="first")
    elif by == "sender":
        out = rec.groupby("created_by")[COUNT_COLUMNS].sum().reset_index()
    else:
        return _by_area(store, rec, level, k)
    out = out.reset_index(drop=True)
    if k is not None:
        out = _withhold(out, COUNT_COLUMNS, int(k))
    return _rates(out)


def _by_area(store, rec: pd.DataFrame, level: str, k: int | None) -> pd.DataFrame:
    from spatial_core.analytics.disclosure import suppress_counts
    from spatial_core.analytics.population import add_area_columns, area_table

    tree = area_table(store)
    r = rec.rename(columns={"area_id": "beat_id"})
    if level == "ward":
        a = store.read("addresses", ["uprn", "ward_id"])
        m = store.read("members", ["member_id", "uprn"])
        ward = m.set_index("member_id")["uprn"].map(a.set_index("uprn")["ward_id"])
        r["ward_id"] = r["member_id"].map(ward)
    add_area_columns(r, tree)
    names = tree.set_index("area_id")["name"]
    if level == "ward" or k is None:
        out = r.groupby(f"{level}_id")[COUNT_COLUMNS].sum().reset_index().rename(
            columns={f"{level}_id": "area_id"})
        if k is not None:
            out = _withhold(out, COUNT_COLUMNS, int(k))
    else:
        # beats, npas and the force together, so a withheld beat cannot be worked out from
        # its npa and the other beats
        parts = []
        for lv in ("beat", "npa", "force"):
            g = r.groupby(f"{lv}_id")[COUNT_COLUMNS].sum().reset_index().rename(
                columns={f"{lv}_id": "area_id"})
            g["level"] = lv
            parts.append(g)
        full = pd.concat(parts, ignore_index=True)
        full["parent_id"] = full["area_id"].map(tree.set_index("area_id")["parent_id"])
        full.loc[full["level"] == "force", "parent_id"] = None
        full = suppress_counts(full, COUNT_COLUMNS, k=int(k))
        out = _row_identity(full[full["level"] == level].drop(columns=["level", "parent_id"])
                            .reset_index(drop=True))
    out.insert(1, "area_name", out["area_id"].map(names).fillna(out["area_id"]))
    return _rates(out.sort_values("area_id").reset_index(drop=True))


def _by_group(store, rec: pd.DataFrame, k: int | None) -> pd.DataFrame:
    from spatial_core.analytics.population import members_frame

    m = members_frame(store)[["member_id", "group", "age_band"]]
    m = m.rename(columns={"group": "oac"})
    per = (rec.groupby("member_id")[["delivered", "replied"]].max().reset_index()
           .merge(m, on="member_id", how="left"))
    per = per[per["delivered"] > 0]
    rows = []
    for dim in ("oac", "age_band"):
        g = per.assign(group=per[dim].fillna("unknown").astype(str)).groupby("group")[
            ["delivered", "replied"]].sum().reset_index()
        g.insert(0, "dimension", dim)
        rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    tot = out.groupby("dimension")[["delivered", "replied"]].transform("sum")
    if k is not None:
        out = _withhold(out, ["delivered", "replied"], int(k))
    d = pd.to_numeric(out["delivered"], errors="coerce")
    r = pd.to_numeric(out["replied"], errors="coerce")
    out["share_delivered"] = d / tot["delivered"].where(tot["delivered"] > 0)
    out["share_replied"] = r / tot["replied"].where(tot["replied"] > 0)
    out["ratio"] = out["share_replied"] / out["share_delivered"].where(
        out["share_delivered"] > 0)
    return out.sort_values(["dimension", "group"]).reset_index(drop=True)


# -- the effect of feedback -------------------------------------------------------------------

OBSERVATIONAL = (
    "Observational, not an experiment: members were not chosen at random to be sent "
    "\"You said, we did\" (the streets a message went to, who consents and has a contact, "
    "who answers surveys all differ). The comparison holds the beat, the baseline "
    "confidence band and the group fixed, but other differences may remain: read the "
    "estimate as an indication, not proof of cause.")


def confidence_band(values) -> np.ndarray:
    """Baseline band of 1-5 answers: ``low`` (1-2), ``middle`` (3), ``high`` (4-5).

    Examples
    --------
    >>> confidence_band([1, 3, 4.0, 5]).tolist()
    ['low', 'middle', 'high', 'high']
    """
    v = np.asarray(values, dtype="float64")
    return np.where(v <= 2, "low", np.where(v < 4, "middle", "high")).astype(object)


@dataclass(frozen=True)
class FeedbackEffect:
    """The matched difference in differences of :func:`feedback_effect`.

    ``estimate``: mean change (follow-up minus baseline, on the 1-5 scale) of members sent
    the message, minus that of matched members who were not, averaged over the strata with
    the treated members' weights; ``ci_low``/``ci_high`` its normal-approximation interval
    (pooled within-stratum variance), ``se`` its standard error; ``treated`` and ``controls``:
    members in matched strata with both waves; ``unmatched``: treated members with both
    waves but no comparable member; ``naive``: the same difference without matching.
    """

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    level: float
    treated: int
    controls: int
    strata: int
    unmatched: int
    naive: float
    treated_change: float
    control_change: float
    measure: str
    kind: str
    method: str
    statement: str = OBSERVATIONAL
    table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False, compare=False)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("table")
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _waves(refs: pd.DataFrame, answers: pd.DataFrame, baseline_days: int,
           follow_up_days: int) -> pd.DataFrame:
    """Each member's last answer before their reference day (within ``baseline_days``) and
    first answer after it (within ``follow_up_days``)."""
    j = answers.merge(refs[["member_id", "ref"]], on="member_id", how="inner")
    day = pd.to_datetime(j["responded"].str.slice(0, 10))
    ref = pd.to_datetime(j["ref"])
    gap = (day - ref).dt.days
    before = j[(gap < 0) & (gap >= -baseline_days)].assign(_gap=gap)
    after = j[(gap > 0) & (gap <= follow_up_days)].assign(_gap=gap)
    order = ["member_id", "_gap", "response_id"]  # one answer a day: the first id
    base = before.sort_values(order, kind="stable").groupby("member_id")["value"].last()
    follow = after.sort_values(order, kind="stable").groupby("member_id")["value"].first()
    out = refs.set_index("member_id").join(base.rename("baseline"), how="inner").join(
        follow.rename("follow_up"), how="inner")
    return out.reset_index()


def feedback_effect(store, *, kind: str = "you_said_we_did", measure: str = "confidence",
                    follow_up_days: int = 120, baseline_days: int = 365,
                    scheme: str = "oac2011", class_level: int | str = 1,
                    level: float = 0.95,
                    scope_areas: Iterable[str] | None = None) -> FeedbackEffect:
    """The effect of being sent a message of ``kind`` on ``measure`` between survey waves.

    *Treated*: members a message of ``kind`` was delivered to; their reference day is the
    first such delivery. *Comparable*: current members of the same beats never sent one; their
    reference day is the first delivery in their beat. For both, the baseline is their last
    survey answer in the ``baseline_days`` before the reference day and the follow-up their
    first answer in the ``follow_up_days`` after. Members are matched exactly on beat,
    baseline band (:func:`confidence_band`) and group (their household's class of
    ``scheme`` at ``class_level``); strata without both kinds of member are left out.

    Returns
    -------
    FeedbackEffect
        NaN estimate (and a method saying why) when there is nothing to compare.
    """
    from scipy.stats import norm

    from spatial_core.analytics.population import members_frame

    if measure not in ("confidence", "feel_safe", "understands"):
        raise InputError(f"measure {measure!r} is not one of confidence, feel_safe, "
                         "understands")
    if not 0 < float(level) < 1:
        raise InputError(f"level is a confidence level between 0 and 1, got {level}")
    if int(follow_up_days) < 1 or int(baseline_days) < 1:
        raise InputError("follow_up_days and baseline_days must be at least 1")
    method = (f"difference in differences of {measure} (1-5), members sent {kind!r} against "
              "members of the same beats who were not, matched on baseline band and group; "
              f"{level:.0%} normal-approximation interval")
    empty = FeedbackEffect(math.nan, math.nan, math.nan, math.nan, float(level), 0, 0, 0, 0,
                           math.nan, math.nan, math.nan, measure, kind, method)
    msg = store.read("messages", ["message_id", "sent_at"], where=schema.messages.c.kind == kind)
    if not len(msg):
        return empty
    r = schema.message_recipients
    rec = store.read("message_recipients", ["message_id", "member_id", "sent_at", "area_id"],
                     where=r.c.message_id.in_(msg["message_id"].tolist()) & (r.c.state == "sent"))
    rec = rec[in_scope(rec["area_id"], scope_areas)]
    if not len(rec):
        return empty
    rec["at"] = rec["sent_at"].fillna(rec["message_id"].map(msg.set_index("message_id")[
        "sent_at"])).str.slice(0, 10)
    first = rec.groupby("member_id")["at"].min()
    m = members_frame(store, scheme=scheme, level=class_level)[["member_id", "beat_id", "group"]]
    m = m.dropna(subset=["beat_id"])
    m["treated"] = m["member_id"].isin(first.index)
    beat_ref = m[m["treated"]].assign(ref=m["member_id"].map(first)).groupby("beat_id")[
        "ref"].min()
    all_sent = set(store.read("message_recipients", ["member_id"],
                              where=r.c.message_id.in_(msg["message_id"].tolist()))["member_id"])
    m = m[m["beat_id"].isin(beat_ref.index) & (m["treated"] | ~m["member_id"].isin(all_sent))]
    m["ref"] = np.where(m["treated"], m["member_id"].map(first), m["beat_id"].map(beat_ref))
    answers = store.read("surveys", ["response_id", "member_id", "responded", measure],
                         where=schema.surveys.c.member_id.isnot(None)).rename(
        columns={measure: "value"})
    answers["value"] = pd.to_numeric(answers["value"], errors="coerce")
    answers = answers.dropna(subset=["value"])
    w = _waves(m, answers, int(baseline_days), int(follow_up_days))
    if not len(w) or not w["treated"].any():
        return empty
    w["change"] = w["follow_up"] - w["baseline"]
    w["band"] = confidence_band(w["baseline"])
    w["group"] = w["group"].fillna("unknown").astype(str)
    keys = ["beat_id", "band", "group"]
    cells = w.groupby([*keys, "treated"])["change"].agg(["size", "mean", "var"]).reset_index()
    t = cells[cells["treated"]].drop(columns="treated").set_index(keys)
    c = cells[~cells["treated"]].drop(columns="treated").set_index(keys)
    both = t.join(c, lsuffix="_t", rsuffix="_c", how="inner")
    naive = float(w.loc[w["treated"], "change"].mean() - w.loc[~w["treated"], "change"].mean())
    tc = float(w.loc[w["treated"], "change"].mean())
    cc = float(w.loc[~w["treated"], "change"].mean()) if (~w["treated"]).any() else math.nan
    unmatched = int(w["treated"].sum() - both["size_t"].sum())
    if not len(both):
        return FeedbackEffect(math.nan, math.nan, math.nan, math.nan, float(level),
                              0, 0, 0, unmatched, naive, tc, cc, measure, kind, method)
    nt, nc = both["size_t"].to_numpy(float), both["size_c"].to_numpy(float)
    diff = both["mean_t"].to_numpy() - both["mean_c"].to_numpy()
    weight = nt / nt.sum()
    estimate = float((weight * diff).sum())
    # pooled within-cell variance (a cell of one member has no variance of its own)
    ss = (np.nan_to_num(both["var_t"].to_numpy()) * (nt - 1)
          + np.nan_to_num(both["var_c"].to_numpy()) * (nc - 1))
    dof = (nt - 1).sum() + (nc - 1).sum()
    sigma2 = float(ss.sum() / dof) if dof > 0 else math.nan
    se = math.sqrt(float((weight ** 2 * sigma2 * (1 / nt + 1 / nc)).sum()))
    z = float(norm.ppf(0.5 + float(level) / 2))
    table = both.reset_index().rename(columns={"size_t": "treated", "size_c": "controls",
                                               "mean_t": "change_treated",
                                               "mean_c": "change_controls"})
    table = table.drop(columns=["var_t", "var_c"])
    return FeedbackEffect(estimate, estimate - z * se, estimate + z * se, se, float(level),
                          int(nt.sum()), int(nc.sum()), int(len(both)), unmatched, naive, tc,
                          cc, measure, kind, method, table=table)
