# SPDX-License-Identifier: GPL-3.0-or-later
"""The demo force's engagement history: :func:`build_history`.

After the demo is loaded, a month of the conversation with residents is added, so that every
engagement figure has something to show and the effect analysis something to find. Day 0 is
the first day of the demo's last month (``T``):

- the actions log: for each beat's most named priorities, what police and partners did in
  the ten weeks before ``T``, and a few actions for whole neighbourhood policing areas;
- "You said, we did" on day 0, one message per beat, drafted by
  :func:`spatial_core.engagement.actions.draft_text` and sent to the members (with consent)
  living on about half of the beat's streets (a street list: the hyper-local message), a
  few bouncing;
- replies from about 6% of those reached, a few with urgent words; a few opt-outs through
  the message's link;
- on day 8 the quarterly survey invitation to every member with consent, and from day 9 the
  answers of members who had answered before (about four in five of them): the *follow-up wave*.
  Answers drift a little from each member's previous one; members sent "You said, we did"
  answer :data:`PLANTED_EFFECT` higher on confidence on average (one step up for a share of
  them), so :func:`spatial_core.engagement.tracking.feedback_effect` has a known effect to
  recover. The analysis compares each member's *first* answer after the message, and some
  members had already answered the demo's own survey later that month (generated without
  any effect), so the rise planted in first answers is a little smaller; it is kept as
  ``first_answer_effect`` in ``lpt_meta`` (``demo_history``), the figure to compare with.
- a stored, archived set-up for one of the demo's door-knock campaigns
  (:func:`add_campaign_setup`): the campaign whose quarter starts nearest the middle of the
  crime months (with at least one month before it), on every street of its beat, created on
  the quarter's first day and archived on its last. Its visits are already tagged with its id
  (``2026Q2-DM01B03``), and the households registered at the door joined on the day of the
  visit, so membership rises in its streets: the effect ``lpt evaluate setup`` should find
  (no effect on crime or confidence is planted). Its id, registrations and households are
  kept in ``demo_history`` (``evaluation_setup``).

The history has its own random stream (seeded from the demo's seed and size), so the rows the
demo generated before are unchanged. The follow-up wave stays inside the demo's last quarter.
"""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import shapely

from spatial_core.store import schema
from spatial_core.store.data_version import bump_data_version

__all__ = ["PLANTED_EFFECT", "HISTORY_META_KEY", "build_history", "add_campaign_setup"]

log = logging.getLogger(__name__)

PLANTED_EFFECT = 0.15
"""The mean rise in confidence (1-5 scale) planted in members sent "You said, we did"."""
HISTORY_META_KEY = "demo_history"
"""``lpt_meta`` key holding the history's row counts and planted effect (JSON)."""

_ACTIONS = {
    "asb": ["Dispersal order and evening patrols around the shops",
            "Youth outreach sessions with the council's youth service",
            "Warning letters to addresses linked to repeated nuisance"],
    "road_safety": ["Speed checks with Community Speedwatch volunteers",
                    "Mobile speed camera deployed on the main road"],
    "drugs": ["Warrant executed at an address linked to dealing",
              "Drug dealing hotspot patrols and stop checks"],
    "burglary": ["Crime prevention visits to homes near recent burglaries",
                 "Free door and window locks for vulnerable residents"],
    "vehicle_crime": ["Vehicle crime leaflets and patrols in car parks",
                      "Arrests following a series of thefts from vehicles"],
    "violence": ["Extra patrols at night-time economy hotspots",
                 "Domestic abuse awareness session with local support services"],
    "criminal_damage": ["Graffiti removed and CCTV reviewed",
                        "Restorative work by young people who caused damage"],
    "theft": ["Shop watch scheme relaunched with local retailers",
              "Bike marking event at the community centre"],
    "robbery": ["Plain-clothes patrols on routes home from the station"],
    "weapons": ["Knife surrender bin and weapons sweeps in the park",
                "Knife crime education sessions in the secondary school"],
    "environmental": ["Fly-tipping hotspot cleared and cameras installed",
                      "Joint litter and dog fouling patrols"],
    "other": ["Community meeting held to hear residents' concerns"],
}
_PARTNERS = ["City council", "Housing association", "Neighbourhood Watch",
             "Fire and rescue service", "Youth service", "Local school"]
_REPLIES = [
    "Thank you for the update, good to hear what is being done.",
    "The patrols have made a difference on our road.",
    "Speeding is still a problem in the evenings.",
    "Could you let us know when the next community meeting is?",
    "Nothing has changed on our street, the problems are the same.",
    "Please keep us informed, this is really useful.",
    "The fly-tipping behind the garages is back again.",
    "Great work by the local team.",
]
_URGENT_REPLIES = [
    "A man threatened my son with a knife near the park, please help.",
    "I am scared to go out, my neighbour keeps making threats.",
    "Youths with weapons outside the shop every night, someone will get hurt.",
]


def _choice(rng: np.random.Generator, items, n: int) -> np.ndarray:
    return np.asarray(items, dtype=object)[rng.integers(0, len(items), n)]


def _stamp(days: np.ndarray | pd.Series, base: pd.Timestamp, minutes) -> np.ndarray:
    t = base + pd.to_timedelta(np.asarray(days), unit="D") + pd.to_timedelta(
        np.asarray(minutes), unit="m")
    return pd.Series(t).dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)


def build_history(store, *, seed: int, households: int, end_month: str,
                  effect: float = PLANTED_EFFECT) -> dict[str, int]:
    """Add the engagement history to a loaded demo store (one transaction); returns the rows
    added per table (also kept in ``lpt_meta`` under :data:`HISTORY_META_KEY`)."""
    from spatial_core.analytics.population import area_table, members_frame
    from spatial_core.analytics.priorities import count_votes
    from spatial_core.engagement.actions import draft_text
    from spatial_core.engagement.replies import find_urgent_words
    from spatial_core.io.surveys import PRIORITIES
    from spatial_core.store.contacts import record_opt_outs

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(households), 10]))
    t0 = pd.Period(end_month, freq="M").start_time
    day0 = t0.strftime("%Y-%m-%d")
    tree = area_table(store)
    beats = tree[tree["level"] == "beat"].sort_values("area_id").reset_index(drop=True)
    force = tree.loc[tree["level"] == "force", "area_id"].iloc[0]

    # -- the actions log ------------------------------------------------------------------
    before = (t0 - pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    votes = count_votes(store, level="beat", period=f"2000-01-01..{before}")
    votes = votes[votes["votes"] > 0]
    top = votes.sort_values(["area_id", "votes", "priority"], ascending=[True, False, True])
    top = top.groupby("area_id").head(3)
    acts = []
    for area_id, prio in zip(top["area_id"], top["priority"], strict=True):
        for _ in range(int(rng.integers(0, 3))):
            acts.append((area_id, prio))
    npa_top = (votes.assign(npa=votes["area_id"].map(tree.set_index("area_id")["parent_id"]))
               .groupby(["npa", "priority"])["votes"].sum().reset_index()
               .sort_values(["npa", "votes", "priority"], ascending=[True, False, True])
               .groupby("npa").head(1))
    acts += list(zip(npa_top["npa"], npa_top["priority"], strict=True))
    n_act = len(acts)
    a_area = np.asarray([a for a, _ in acts], dtype=object)
    a_prio = np.asarray([p for _, p in acts], dtype=object)
    a_days = -rng.integers(5, 75, n_act)
    a_what = np.asarray([_ACTIONS.get(p, _ACTIONS["other"])[int(rng.integers(0, len(
        _ACTIONS.get(p, _ACTIONS["other"]))))] for p in a_prio], dtype=object)
    a_partner = np.where(rng.random(n_act) < 0.4, _choice(rng, _PARTNERS, n_act), None)
    officers = np.char.add("PC ", (rng.permutation(9000)[: max(len(beats), 1)] + 1000).astype(
        str)).astype(object)
    beat_officer = dict(zip(beats["area_id"], officers, strict=False))
    actions = pd.DataFrame({
        "action_id": [f"A-demo-{i + 1:05d}" for i in range(n_act)],
        "done_on": pd.Series(t0 + pd.to_timedelta(a_days, unit="D")).dt.strftime(
            "%Y-%m-%d").to_numpy(dtype=object),
        "priority": a_prio, "area_id": a_area, "what": a_what, "partner": a_partner,
        "recorded_by": [beat_officer.get(a, "PS 1001") for a in a_area],
    })
    actions["recorded_at"] = actions["done_on"] + "T17:30:00"

    # -- "You said, we did" to about half of each beat's streets ---------------------------
    m = members_frame(store, as_of=day0)[["member_id", "uprn", "beat_id"]].dropna(
        subset=["beat_id"])
    streets = store.read("addresses", ["uprn", "street_id"])
    m["street_id"] = m["uprn"].map(streets.set_index("uprn")["street_id"])
    consent = store.read("member_consents", ["member_id", "organisation"])
    police = set(consent.loc[consent["organisation"] == "police", "member_id"])
    m = m.sort_values("member_id").reset_index(drop=True)
    m["consent"] = m["member_id"].isin(police)
    s_beat = m.dropna(subset=["street_id"]).drop_duplicates("street_id")[["street_id", "beat_id"]]
    s_beat = s_beat.sort_values("street_id").reset_index(drop=True)
    s_beat["chosen"] = rng.random(len(s_beat)) < 0.5
    chosen = set(s_beat.loc[s_beat["chosen"], "street_id"])
    m["on_list"] = m["street_id"].isin(chosen)
    beat_names = beats.set_index("area_id")["name"]
    marked = votes.assign(rank=votes.groupby("area_id")["votes"].rank(method="min",
                                                                       ascending=False))
    marked = marked[marked["rank"] <= 3].sort_values(["area_id", "votes", "priority"],
                                                     ascending=[True, False, True])
    marked = marked.assign(label=marked["priority"].map(PRIORITIES).fillna(marked["priority"]))
    top_of = {a: g for a, g in marked.groupby("area_id", sort=False)}
    by_id = tree.set_index("area_id")
    named = actions.assign(area_name=actions["area_id"].map(by_id["name"]))
    acts_of = {a: g for a, g in named.groupby("area_id", sort=False)}
    none = named.iloc[:0]
    messages, recipients = [], []
    sent_at = t0 + pd.Timedelta(hours=9)
    for beat_id, part in m[m["on_list"]].groupby("beat_id", sort=True):
        mine = top_of.get(beat_id, marked.iloc[:0])
        here = pd.concat([acts_of.get(a, none) for a in (beat_id, by_id.loc[beat_id, "parent_id"],
                                                          force)])
        n = int(mine["n"].iloc[0]) if len(mine) else 0
        subject, body = draft_text(str(beat_names.get(beat_id, beat_id)), n, mine,
                                   here[here["priority"].isin(set(mine["priority"]))], min_n=5)
        message_id = f"msg-demo-ysd-{beat_id.partition(':')[2]}"
        lst = sorted(set(part["street_id"]))
        messages.append({"message_id": message_id, "kind": "you_said_we_did",
                         "subject": subject, "body": body,
                         "audience": json.dumps({"areas": [f"street:{s}" for s in lst]}),
                         "area_id": beat_id, "organisation": "police",
                         "created_by": beat_officer.get(beat_id, "PC 1000"),
                         "created_at": (t0 - pd.Timedelta(hours=7)).strftime(
                             "%Y-%m-%dT%H:%M:%S"),
                         "status": "sent", "sent_at": sent_at.strftime("%Y-%m-%dT%H:%M:%S"),
                         "channel": "eml"})
        recipients.append(pd.DataFrame({"message_id": message_id,
                                        "member_id": part["member_id"].to_numpy(dtype=object),
                                        "consent": part["consent"].to_numpy(),
                                        "area_id": beat_id}))
    rec = pd.concat(recipients, ignore_index=True) if recipients else pd.DataFrame(
        columns=["message_id", "member_id", "consent", "area_id"])
    k = len(rec)
    bounced = rng.random(k) < 0.03
    rec["state"] = np.where(~rec["consent"].to_numpy(dtype=bool), "held",
                            np.where(bounced, "failed", "sent"))
    rec["held_reason"] = np.where(rec["state"] == "held", "consent", None)
    rec["attempts"] = np.where(rec["state"] == "held", 0, 1)
    rec["sent_at"] = np.where(rec["state"] == "sent",
                              _stamp(np.zeros(k), sent_at, rng.integers(0, 40, k)), None)
    rec["error"] = np.where(rec["state"] == "failed", "550 mailbox unavailable", None)
    treated = set(rec.loc[rec["state"] == "sent", "member_id"])

    # -- replies and opt-outs ---------------------------------------------------------------
    got = rec[rec["state"] == "sent"].reset_index(drop=True)
    reply = got[rng.random(len(got)) < 0.06].reset_index(drop=True)
    nr = len(reply)
    urgent = rng.random(nr) < 0.08
    text = np.where(urgent, _choice(rng, _URGENT_REPLIES, nr), _choice(rng, _REPLIES, nr))
    found = {t: find_urgent_words(t) for t in set(text)}
    flags = [found[t] for t in text]
    r_at = _stamp(rng.integers(0, 10, nr), t0 + pd.Timedelta(hours=10), rng.integers(0, 600, nr))
    answered = rng.random(nr) < 0.5
    replies = pd.DataFrame({
        "reply_id": [f"Y-demo-{i + 1:06d}" for i in range(nr)],
        "message_id": reply["message_id"].to_numpy(dtype=object),
        "member_id": reply["member_id"].to_numpy(dtype=object),
        "received_at": r_at, "text": text, "urgent": [int(bool(f)) for f in flags],
        "urgent_words": [",".join(f) or None for f in flags],
        "area_id": reply["area_id"].to_numpy(dtype=object),
        "answer": np.where(answered, "Thank you for getting in touch. Your neighbourhood team "
                                     "will follow this up.", None),
        "answered_by": np.where(answered, [beat_officer.get(a, "PC 1000")
                                           for a in reply["area_id"]], None),
        "answered_at": np.where(answered, _stamp(np.full(nr, 1), pd.to_datetime(pd.Series(
            r_at)).dt.normalize().to_numpy(), np.full(nr, 600)), None),
    })
    leave = got.loc[rng.random(len(got)) < 0.01, "member_id"].tolist()
    leave_day = rng.integers(0, 7, len(leave))  # opt-outs recorded once a day, at noon

    # -- the survey invitation and the follow-up wave ---------------------------------------
    inv_at = t0 + pd.Timedelta(days=8, hours=9)
    left_out = set(leave)
    invited = m.loc[m["consent"] & ~m["member_id"].isin(left_out), ["member_id", "beat_id"]]
    invite = {"message_id": f"msg-demo-survey-{inv_at.strftime('%Y%m%d')}", "kind": "survey",
              "subject": "Tell us what matters where you live",
              "body": "Every three months we ask what the police and partners should tackle "
                      "where you live. Please answer through the survey link.",
              "audience": json.dumps({"areas": [force]}), "area_id": force,
              "organisation": "police", "created_by": "survey-schedule",
              "created_at": inv_at.strftime("%Y-%m-%dT%H:%M:%S"), "status": "sent",
              "sent_at": inv_at.strftime("%Y-%m-%dT%H:%M:%S"), "channel": "eml"}
    inv_rec = pd.DataFrame({"message_id": invite["message_id"],
                            "member_id": invited["member_id"].to_numpy(dtype=object),
                            "state": "sent", "held_reason": None, "attempts": 1,
                            "sent_at": invite["sent_at"], "error": None,
                            "area_id": invited["beat_id"].to_numpy(dtype=object)})
    # the wave has a stream of its own: the rest of the history may change without moving it
    wave_rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(households), 11]))
    wave = _follow_up_wave(store, invited, treated, t0, effect, wave_rng)

    with store.begin() as conn:
        store.insert_new(conn, "actions", actions)
        store.insert_new(conn, "messages", pd.DataFrame([*messages, invite]))
        store.insert_new(conn, "message_recipients", pd.concat(
            [rec.drop(columns=["consent"]), inv_rec], ignore_index=True))
        store.insert_new(conn, "replies", replies)
        for d in np.unique(leave_day):
            record_opt_outs(store, conn, [w for w, x in zip(leave, leave_day, strict=True)
                                          if x == d], source="link",
                            at=(t0 + pd.Timedelta(days=int(d), hours=12)).isoformat())
        store.insert_new(conn, "surveys", wave["surveys"])
        store.insert_new(conn, "survey_priorities", wave["priorities"])
        counts = {"actions": len(actions), "messages": len(messages) + 1,
                  "message_recipients": len(rec) + len(inv_rec), "replies": nr,
                  "urgent_replies": int(replies["urgent"].sum()), "opt_outs": len(leave),
                  "surveys": len(wave["surveys"]),
                  "you_said_we_did_delivered": len(treated)}
        store.set_meta(HISTORY_META_KEY, json.dumps({**counts, "planted_effect": effect,
                                                     "first_answer_effect": round(
                                                         wave["first_answer_effect"], 4),
                                                     "day0": day0}), conn=conn)
        bump_data_version(store, conn)
    log.info("demo history: %s", counts)
    campaign = add_campaign_setup(store)
    if campaign:
        meta = json.loads(store.get_meta(HISTORY_META_KEY) or "{}")
        store.set_meta(HISTORY_META_KEY, json.dumps({**meta, "evaluation_setup": campaign}))
    return counts


def add_campaign_setup(store) -> dict | None:
    """Store one of the demo's door-knock campaigns as an archived set-up (see the module
    docstring); returns its id, dates, registrations at the door and households, or None
    when no campaign starts after the first crime month (a demo of under six months)."""
    from spatial_core.analytics.harm import crime_months
    from spatial_core.targeting.setups import archive_setup, create_setup

    months = crime_months(store)
    v = store.read("visits", ["setup_id", "visited_at", "outcome", "uprn"],
                   where=schema.visits.c.setup_id.isnot(None))
    if not months or not len(v):
        return None
    tag = v["setup_id"].astype(str)
    v = v.assign(tag=tag, quarter=tag.str.partition("-")[0], beat=tag.str.partition("-")[2])
    v = v[v["quarter"].str.fullmatch(r"\d{4}Q[1-4]") & (v["beat"] != "")]
    if not len(v):
        return None
    camp = v.groupby("tag").agg(quarter=("quarter", "first"), beat=("beat", "first"),
                                visits=("uprn", "size"),
                                registered=("outcome", lambda o: int((o == "registered").sum())))
    camp["start"] = [pd.Period(q, freq="Q").start_time.strftime("%Y-%m") for q in camp["quarter"]]
    camp = camp[(camp["start"] > months[0]) & (camp["start"] <= months[-1])]
    if not len(camp):
        return None
    middle = pd.Period(months[len(months) // 2], freq="M")
    camp["off"] = [abs((pd.Period(s, freq="M") - middle).n) for s in camp["start"]]
    best = camp.reset_index().sort_values(["off", "visits", "tag"],
                                          ascending=[True, False, True]).iloc[0]
    beat_id = f"beat:{best['beat']}"
    streets = store.read("streets", ["street_id"], where=schema.streets.c.beat_id == beat_id)
    if not len(streets):
        return None
    q = pd.Period(best["quarter"], freq="Q")
    created = q.start_time.strftime("%Y-%m-%dT09:00:00")
    end = min(q.end_time, pd.Period(months[-1], freq="M").end_time)
    setup = create_setup(store, f"Door-knock recruitment {best['beat']}, {best['quarter']}",
                         areas=[beat_id], goal="recruit", max_streets=len(streets),
                         now=created, setup_id=str(best["tag"]))
    archive_setup(store, setup.setup_id, now=end.strftime("%Y-%m-%dT18:00:00"))
    st = store.read("setup_streets", ["street_id", "households"],
                    where=schema.setup_streets.c.setup_id == setup.setup_id)
    a = store.read("addresses", ["uprn", "street_id"])
    on = set(a.loc[a["street_id"].isin(set(st["street_id"])), "uprn"])
    mine = v[(v["tag"] == setup.setup_id) & v["uprn"].isin(on)]
    out = {"setup_id": setup.setup_id, "beat_id": beat_id, "created_at": created,
           "archived_at": end.strftime("%Y-%m-%dT18:00:00"), "streets": len(st),
           "households": int(st["households"].sum()),
           "registered": int((mine["outcome"] == "registered").sum())}
    log.info("demo history: campaign set-up %s", out)
    return out


def _follow_up_wave(store, invited: pd.DataFrame, treated: set, t0: pd.Timestamp,
                    effect: float, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Answers to the invitation from members who had answered before day 0."""
    day0 = t0.strftime("%Y-%m-%d")
    every = store.read("surveys", ["response_id", "member_id", "responded", "confidence",
                                   "feel_safe"], where=schema.surveys.c.member_id.isnot(None))
    s = every[(every["responded"] < day0) & every["member_id"].isin(set(invited["member_id"]))]
    last = s.sort_values(["member_id", "responded", "response_id"]).drop_duplicates(
        "member_id", keep="last").dropna(subset=["confidence"]).reset_index(drop=True)
    last = last[rng.random(len(last)) < 0.8].reset_index(drop=True)
    n = len(last)
    base = last["confidence"].to_numpy(dtype="float64")
    y0 = np.clip(np.rint(base + rng.normal(0, 0.3, n)), 1, 5)
    is_t = last["member_id"].isin(treated).to_numpy()
    # one step up for a share q of treated members below 5, q chosen so the mean rise among
    # the treated is ``effect``
    room = is_t & (y0 < 5)
    q = min(1.0, effect * is_t.sum() / max(room.sum(), 1))
    bump = room & (rng.random(n) < q)
    y1 = y0 + bump
    fs = pd.to_numeric(last["feel_safe"], errors="coerce").fillna(3).to_numpy(dtype="float64")
    feel = np.clip(np.rint(fs + rng.normal(0, 0.3, n)), 1, 5)
    understands = np.clip(np.rint(y1 + rng.normal(0, 0.6, n)), 1, 5)
    mem = store.read("members", ["member_id", "postcode", "lat", "lng", "x", "y", "cell",
                                 "gender", "age_band", "ethnicity"])
    mem = mem.set_index("member_id").reindex(last["member_id"])
    x, y = mem["x"].to_numpy(dtype="float64"), mem["y"].to_numpy(dtype="float64")
    geom = shapely.points(x, y)  # the member's point, as stored (not read back: faster)
    geom[~(np.isfinite(x) & np.isfinite(y))] = None
    days = rng.integers(9, 28, n)
    ids = np.char.add("H", (np.arange(n) + 1_000_001).astype(str)).astype(object)
    surveys = pd.DataFrame({
        "response_id": ids,
        "responded": pd.Series(t0 + pd.to_timedelta(days, unit="D")).dt.strftime(
            "%Y-%m-%d").to_numpy(dtype=object),
        "channel": "online", "member_id": last["member_id"].to_numpy(dtype=object),
        **{c: mem[c].to_numpy(dtype=object) for c in ("postcode", "gender", "age_band",
                                                      "ethnicity")},
        **{c: mem[c].to_numpy(dtype="float64") for c in ("lat", "lng", "x", "y")},
        "cell": mem["cell"].fillna(0).to_numpy(dtype="int64"),
        "confidence": y1.astype("int64").astype(object),
        "feel_safe": feel.astype("int64").astype(object),
        "understands": understands.astype("int64").astype(object),
        "geom": geom,
    })
    pri = store.read("survey_priorities", ["response_id", "priority"])
    pri = pri[pri["response_id"].isin(set(last["response_id"]))]
    new_id = pd.Series(ids, index=last["response_id"].to_numpy(dtype=object))
    pri["response_id"] = pri["response_id"].map(new_id)
    return {"surveys": surveys, "priorities": pri.dropna().reset_index(drop=True),
            "first_answer_effect": _first_answer_effect(every, treated, last, surveys, bump,
                                                        day0)}


def _first_answer_effect(every: pd.DataFrame, treated: set, last: pd.DataFrame,
                         wave: pd.DataFrame, bump: np.ndarray, day0: str) -> float:
    """The planted effect on what the analysis compares: each treated member's first answer
    after day 0 (within 120 days, with an answer before). A member whose first answer after
    day 0 is one the demo generated before the history (answers run to the quarter's end) has
    no planted rise in it; a wave answer has the member's rise (0 or 1)."""
    end = (pd.Timestamp(day0) + pd.Timedelta(days=120)).strftime("%Y-%m-%d")
    had = set(every.loc[every["responded"] < day0, "member_id"])
    post = every[(every["responded"] > day0) & (every["responded"] <= end)]
    post = post[["member_id", "responded", "response_id"]].assign(rise=0)
    w = pd.DataFrame({"member_id": wave["member_id"].to_numpy(dtype=object),
                      "responded": wave["responded"].to_numpy(dtype=object),
                      "response_id": wave["response_id"].to_numpy(dtype=object),
                      "rise": bump.astype("int64")})
    both = pd.concat([post, w], ignore_index=True)
    both = both[both["member_id"].isin(treated & had)]
    first = both.sort_values(["member_id", "responded", "response_id"], kind="stable")
    first = first.drop_duplicates("member_id")
    return float(first["rise"].mean()) if len(first) else float("nan")
