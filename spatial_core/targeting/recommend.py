# SPDX-License-Identifier: GPL-3.0-or-later
"""Recommended actions: what to do on a recommended street, and why.

A street's score says *where*; its components say *why*, and so *what to do*: door-knock to
register and survey where representation and coverage drive the score, a visible patrol at
the times crime happens where harm drives it, the key individuals of the area where
residents' voice does, a referral to the council where fly-tipping is a local priority.

The rules are an ordered list in a TOML file (shipped:
``spatial_core/data/recommended_actions.toml``; a user passes their own). Each street gets the
action of the **first** rule whose conditions all hold, with the rule's reason template
filled in with the street's figures. :func:`recommend_actions` is the one function that does
it, from the stored score components (no change to the stored score schema) and an
:class:`ActionContext` (the beat's local priorities, its key contacts, when its crime
happens, members per street) that :func:`spatial_core.api.scores.action_context` gathers.

The *share* of a component is its part of the score (weight x scaled value) over the sum of
the parts of harm, voice, representation and coverage; fatigue, a penalty, is not a part.

``docs/analytics/recommended-actions.md`` describes the file format with a worked example.
"""
from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.errors import InputError, NotFoundError
from spatial_core.io.surveys import PRIORITIES

__all__ = [
    "ACTIONS",
    "PARTS",
    "PLACEHOLDERS",
    "PEOPLE_PLACEHOLDERS",
    "ACTION_COLUMNS",
    "ActionRule",
    "ActionRules",
    "ActionContext",
    "action_rules_from_toml",
    "load_action_rules",
    "recommend_actions",
    "crime_timing",
]

ACTIONS: dict[str, str] = {
    "door_knock_register_survey": "Door-knock to register and survey",
    "visible_patrol": "Visible patrol at the times crime happens",
    "contact_key_individuals": "Contact the key individuals of the area",
    "partner_referral": "Refer to a partner",
    "leaflet_message": "Leaflet or message the street",
    "no_action": "No action",
}
"""The action vocabulary: code -> default label (a rule may give its own label)."""

PARTS: tuple[str, ...] = ("harm", "representation", "voice", "coverage")
"""The components that add to a score, in the order that breaks ties (as the reasons do)."""
_ALL_COMPONENTS = ("harm", "voice", "representation", "coverage", "fatigue")

ACTION_COLUMNS: tuple[str, ...] = ("action", "action_label", "action_reason")
"""The columns :func:`recommend_actions` adds to a street's scores."""

PLACEHOLDERS: dict[str, str] = {
    "name": "the street's name (its id when it has none)",
    "street_id": "the street's id",
    "beat": "the street's beat id",
    "score": "the score, 2 decimals",
    "rank": "the rank in the beat",
    "voice_n": "respondents near the street",
    **{c: f"{c} scaled 0-1 in the beat, 2 decimals" for c in _ALL_COMPONENTS},
    **{f"{c}_raw": f"{c} raw (whole numbers as such, else 2 decimals)" for c in _ALL_COMPONENTS},
    **{f"{c}_share": f"{c}'s share of the score, in %" for c in PARTS},
    "drivers": "the rule's drivers with their scaled values ('representation 0.82 and "
               "coverage 0.70'); the leading component when the rule has none",
    "drivers_share": "the drivers' combined share of the score, in %",
    "top_driver": "the component that adds most to the score, with its scaled value",
    "top_share": "its share of the score, in %",
    "households": "households on the street",
    "members": "households on the street with a current member",
    "non_members": "households on the street without one",
    "priority": "the beat's local priority the rule names (else its most named one)",
    "priority_share": "that priority's share of the beat's respondents, in %",
    "priority_n": "the beat's respondents",
    "key_contacts": "current key individuals and IAG members living in the beat",
    "crime_times": "when the beat's crime happens (hours and days when the data has "
                   "times, else months and categories)",
}
"""The placeholders a reason template may use."""

PEOPLE_PLACEHOLDERS: tuple[str, ...] = ("members", "non_members", "key_contacts",
                                         "priority_n", "voice_n")
"""Placeholders that count people (or their households): withheld below ``k``."""

_NEEDS = {"households": "households", "members": "households", "non_members": "households",
          "priority": "priorities", "priority_share": "priorities",
          "priority_n": "priorities", "key_contacts": "key_contacts",
          "crime_times": "crime_times"}

_KEYS = ("name", "action", "label", "reason", "drivers", "min_share", "min", "min_raw",
         "min_score", "max_score", "max_rank", "priorities", "min_key_contacts")
_NA = "n/a"


@dataclass(frozen=True)
class ActionRule:
    """One rule: its conditions (all must hold) and what it recommends."""

    name: str
    action: str
    label: str
    reason: str
    drivers: tuple[str, ...] = ()
    min_share: float | None = None
    min: Mapping[str, float] = field(default_factory=dict)
    min_raw: Mapping[str, float] = field(default_factory=dict)
    min_score: float | None = None
    max_score: float | None = None
    max_rank: int | None = None
    priorities: tuple[str, ...] = ()
    min_key_contacts: int | None = None

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.reason) if f)


@dataclass(frozen=True)
class ActionRules:
    """An ordered list of rules and the file they came from."""

    rules: tuple[ActionRule, ...]
    source: str = "recommended_actions.toml"

    @property
    def needs(self) -> frozenset[str]:
        """What context the rules use: ``households``, ``priorities``, ``key_contacts``,
        ``crime_times`` (the caller gathers only these)."""
        out = set()
        for r in self.rules:
            out |= {_NEEDS[p] for p in r.placeholders if p in _NEEDS}
            if r.priorities:
                out.add("priorities")
            if r.min_key_contacts is not None:
                out.add("key_contacts")
        return frozenset(out)


@dataclass(frozen=True)
class ActionContext:
    """What the rules may use beyond the scores; every part optional.

    ``households`` and ``members``: per ``street_id``; ``priorities``: the beats' local
    priorities (``beat_id``, ``priority``, ``label``, ``share``, ``n``; only rows that are a
    local priority); ``key_contacts``: per ``beat_id``; ``crime_times``: text per
    ``beat_id`` (:func:`crime_timing`)."""

    households: pd.Series | None = None
    members: pd.Series | None = None
    priorities: pd.DataFrame | None = None
    key_contacts: pd.Series | None = None
    crime_times: pd.Series | None = None


# -- the rules file ---------------------------------------------------------------------------

def _bad(source: str, i: int, name: str | None, key: str, value: object,
         expected: str) -> InputError:
    where = f"{source}, rule {i}" + (f" ({name!r})" if name else "") + f", key {key!r}"
    shown = "" if value is None else f": value {value!r}"
    err = InputError(f"{where}{shown}: {expected}")
    err.file, err.column = source, key
    return err


def _number(source, i, name, key, v, *, lo: float | None = None, hi: float | None = None,
            integer: bool = False) -> float:
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if integer:
        ok = ok and float(v).is_integer()
    if ok and lo is not None and v < lo:
        ok = False
    if ok and hi is not None and v > hi:
        ok = False
    if not ok:
        what = "a whole number" if integer else "a number"
        bounds = ("" if lo is None and hi is None else
                  f" between {lo:g} and {hi:g}" if lo is not None and hi is not None else
                  f" >= {lo:g}" if lo is not None else f" <= {hi:g}")
        raise _bad(source, i, name, key, v, f"expected {what}{bounds}")
    return int(v) if integer else float(v)


def _components(source, i, name, key, v, allowed) -> tuple[str, ...]:
    items = [v] if isinstance(v, str) else v
    if not isinstance(items, list) or not items or not all(isinstance(c, str) for c in items):
        raise _bad(source, i, name, key, v, "expected a component name or a list of them: "
                   + ", ".join(allowed))
    for c in items:
        if c not in allowed:
            raise _bad(source, i, name, key, c, "expected one of " + ", ".join(allowed))
    return tuple(dict.fromkeys(items))


def _rule(source: str, i: int, raw: object) -> ActionRule:
    if not isinstance(raw, dict):
        raise _bad(source, i, None, "rule", raw, "expected a table ([[rule]])")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad(source, i, None, "name", name, "expected a rule name (text)")
    for key in raw:
        if key not in _KEYS:
            raise _bad(source, i, name, key, None,
                       "unknown key; expected one of " + ", ".join(_KEYS))
    action = raw.get("action")
    if action not in ACTIONS:
        raise _bad(source, i, name, "action", action,
                   "expected one of " + ", ".join(ACTIONS))
    label = raw.get("label", ACTIONS[action])
    if not isinstance(label, str) or not label.strip():
        raise _bad(source, i, name, "label", label, "expected a label (text)")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise _bad(source, i, name, "reason", reason,
                   "expected a reason template (text with {placeholders})")
    try:
        parsed = list(string.Formatter().parse(reason))
    except ValueError as exc:
        raise _bad(source, i, name, "reason", reason,
                   f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
                   ) from None
    for _, fld, spec, conv in parsed:
        if fld is None:
            continue
        if fld not in PLACEHOLDERS:
            raise _bad(source, i, name, "reason", "{" + fld + "}",
                       "unknown placeholder; expected one of "
                       + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        if spec or conv:
            raise _bad(source, i, name, "reason", "{" + fld + (f"!{conv}" if conv else "")
                       + (f":{spec}" if spec else "") + "}",
                       "placeholders take no format or conversion (values come formatted)")
    kw: dict = {}
    if "drivers" in raw:
        kw["drivers"] = _components(source, i, name, "drivers", raw["drivers"], PARTS)
    if "min_share" in raw:
        if "drivers" not in raw:
            raise _bad(source, i, name, "min_share", None,
                       "needs 'drivers': the components whose combined share it bounds")
        kw["min_share"] = _number(source, i, name, "min_share", raw["min_share"], lo=0, hi=1)
    for key in ("min", "min_raw"):
        if key in raw:
            table = raw[key]
            if not isinstance(table, dict) or not table:
                raise _bad(source, i, name, key, table, "expected a table of component = "
                           "number, e.g. {harm = 0.5}")
            for c, v in table.items():
                if c not in _ALL_COMPONENTS:
                    raise _bad(source, i, name, f"{key}.{c}", None,
                               "unknown component; expected one of " + ", ".join(_ALL_COMPONENTS))
                _number(source, i, name, f"{key}.{c}", v, lo=0 if key == "min_raw" else 0,
                        hi=1 if key == "min" else None)
            kw[key] = {c: float(v) for c, v in table.items()}
    for key in ("min_score", "max_score"):
        if key in raw:
            kw[key] = _number(source, i, name, key, raw[key])
    if "max_rank" in raw:
        kw["max_rank"] = _number(source, i, name, "max_rank", raw["max_rank"], lo=1,
                                 integer=True)
    if "min_key_contacts" in raw:
        kw["min_key_contacts"] = _number(source, i, name, "min_key_contacts",
                                         raw["min_key_contacts"], lo=1, integer=True)
    if "priorities" in raw:
        v = raw["priorities"]
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not items or not all(
                isinstance(p, str) for p in items):
            raise _bad(source, i, name, "priorities", v,
                       "expected a list of priority slugs: " + ", ".join(PRIORITIES))
        for p in items:
            if p not in PRIORITIES:
                raise _bad(source, i, name, "priorities", p,
                           "expected one of the priority slugs " + ", ".join(PRIORITIES))
        kw["priorities"] = tuple(dict.fromkeys(items))
    return ActionRule(name=name.strip(), action=action, label=label.strip(), reason=reason,
                      **kw)


def action_rules_from_toml(text: str, source: str = "recommended_actions.toml") -> ActionRules:
    """Parse and check a rules file's text (``source`` names it in errors).

    Examples
    --------
    >>> BAD = '[[rule]]\\nname = "x"\\naction = "arrest"\\nreason = "r"'
    >>> rules = action_rules_from_toml('''
    ... [[rule]]
    ... name = "patrol"
    ... action = "visible_patrol"
    ... drivers = ["harm"]
    ... reason = "harm {harm} leads"
    ... ''', "mine.toml")
    >>> rules.rules[0].label
    'Visible patrol at the times crime happens'
    >>> try:
    ...     action_rules_from_toml(BAD, "mine.toml")
    ... except InputError as err:
    ...     print(str(err)[:63])
    mine.toml, rule 1 ('x'), key 'action': value 'arrest': expected
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise InputError(f"{source}: unknown top-level key {extra[0]!r}; expected [[rule]] "
                         "tables only")
    raw = data.get("rule")
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{source}: no rules; expected one or more [[rule]] tables, each "
                         "with name, action and reason")
    rules = tuple(_rule(source, i, r) for i, r in enumerate(raw, start=1))
    seen: set[str] = set()
    for i, r in enumerate(rules, start=1):
        if r.name in seen:
            raise _bad(source, i, r.name, "name", r.name, "expected a name no earlier rule has")
        seen.add(r.name)
    return ActionRules(rules=rules, source=source)


def _shipped() -> Path:
    return Path(str(resources.files("spatial_core").joinpath("data/recommended_actions.toml")))


def load_action_rules(path: str | Path | None = None) -> ActionRules:
    """The rules in ``path``, or the shipped rules (None)."""
    if path is None:
        return action_rules_from_toml(_shipped().read_text("utf-8"), "recommended_actions.toml")
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"actions file {str(p)!r} does not exist (expected a TOML file of "
                            "[[rule]] tables; the shipped one is "
                            "spatial_core/data/recommended_actions.toml)")
    return action_rules_from_toml(p.read_text("utf-8"), str(p))


# -- applying them ----------------------------------------------------------------------------

def _pct(share: float) -> str:
    return f"{math.floor(share * 100 + 0.5)}%"


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return _NA
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:.2f}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def recommend_actions(scores: pd.DataFrame, rules: ActionRules, weights: Mapping[str, float],
                      context: ActionContext | None = None, *,
                      k: int | None = None) -> pd.DataFrame:
    """The recommended action of every scored street.

    Parameters
    ----------
    scores : DataFrame
        Street scores as :func:`spatial_core.targeting.scoring.score_streets` gives them or
        :func:`~spatial_core.targeting.scoring.load_scores` reads them (``street_id``,
        ``beat_id``, ``score``, ``rank_in_beat``, each component scaled and ``_raw``;
        ``name`` and ``voice_n`` when present).
    rules : ActionRules
        :func:`load_action_rules`.
    weights : mapping
        The profile's weights (the shares are of weight x scaled component).
    context : ActionContext, optional
        A condition on context that is missing does not hold; a placeholder reads ``n/a``.
    k : int, optional
        Disclosure control of the words: a count of people (:data:`PEOPLE_PLACEHOLDERS`)
        from 1 to ``k - 1`` reads ``<k`` (and ``non_members`` "all but <k" when the members
        are withheld, so that they cannot be recovered from the households). None: exact
        counts (police views).

    Returns
    -------
    pandas.DataFrame
        ``street_id``, ``action``, ``action_label``, ``action_reason``, in the order (and
        with the index) of ``scores``. A street no rule matches gets ``no_action``.

    Examples
    --------
    >>> scores = pd.DataFrame({"street_id": ["s1"], "name": ["High St"], "beat_id": ["b"],
    ...     "score": [1.1], "rank_in_beat": [1], "harm": [1.0], "voice": [0.0],
    ...     "representation": [0.2], "coverage": [0.0], "fatigue": [0.0], "harm_raw": [3.0],
    ...     "voice_raw": [0.0], "representation_raw": [4.0], "coverage_raw": [0.0],
    ...     "fatigue_raw": [0.0]})
    >>> weights = {"harm": 1, "voice": 0.5, "representation": 0.5, "coverage": 0.5,
    ...            "fatigue": 0.5}
    >>> out = recommend_actions(scores, load_action_rules(), weights)
    >>> out.loc[0, "action"]
    'visible_patrol'
    >>> out.loc[0, "action_reason"]
    'harm 1.00 drives the score (91% of it): n/a'
    """
    ctx = context or ActionContext()
    n = len(scores)
    parts = np.column_stack([
        float(weights.get(c, 0.0)) * scores[c].to_numpy(dtype="float64") for c in PARTS]) \
        if n else np.zeros((0, len(PARTS)))
    parts = np.where(np.isfinite(parts) & (parts > 0), parts, 0.0)
    total = parts.sum(axis=1)
    share = np.divide(parts, total[:, None], out=np.zeros_like(parts), where=total[:, None] > 0)
    top = parts.argmax(axis=1) if n else np.zeros(0, dtype="int64")  # first max: tie order
    score = scores["score"].to_numpy(dtype="float64")
    beat = scores["beat_id"].to_numpy(dtype=object)
    beat_key = pd.Series(beat).fillna("")
    sid = scores["street_id"].to_numpy(dtype=object)

    # Per-street context as arrays (NaN / None where missing).
    def per(series: pd.Series | None, keys) -> np.ndarray | None:
        if series is None:
            return None
        return pd.Series(keys).map(series).to_numpy(dtype=object)

    households = per(ctx.households, sid)
    members = per(ctx.members, sid)
    key_contacts = per(ctx.key_contacts, beat_key)
    crime_times = per(ctx.crime_times, beat_key)
    # beat -> {slug: (label, share, n)}, most named first: plain dicts, looked up per street
    pri_by_beat: dict[str, dict[str, dict]] = {}
    pri = ctx.priorities
    if pri is not None and len(pri):
        pri = pri.sort_values(["beat_id", "share", "priority"], ascending=[True, False, True],
                              kind="stable")
        for b, slug, lab, sh, nn in zip(pri["beat_id"], pri["priority"], pri["label"],
                                        pri["share"], pri["n"], strict=True):
            pri_by_beat.setdefault(b, {})[slug] = {"label": lab, "share": sh, "n": nn}
    beat_list = beat_key.tolist()

    def priority_row(i: int, wanted: tuple[str, ...]):
        g = pri_by_beat.get(beat_list[i])
        if not g:
            return None
        if not wanted:
            return next(iter(g.values()))
        for p in wanted:
            if p in g:
                return g[p]
        return None

    chosen = np.full(n, -1, dtype="int64")
    for j, rule in enumerate(rules.rules):
        ok = chosen < 0
        if not ok.any():
            break
        if rule.drivers:
            idx = [PARTS.index(c) for c in rule.drivers]
            if rule.min_share is not None:
                ok &= (total > 0) & (share[:, idx].sum(axis=1) >= rule.min_share - 1e-12)
            else:
                ok &= (total > 0) & np.isin(top, idx)
        for c, v in rule.min.items():
            ok &= scores[c].to_numpy(dtype="float64") >= v - 1e-12
        for c, v in rule.min_raw.items():
            ok &= scores[f"{c}_raw"].to_numpy(dtype="float64") >= v - 1e-12
        if rule.min_score is not None:
            ok &= score >= rule.min_score - 1e-12
        if rule.max_score is not None:
            ok &= score <= rule.max_score + 1e-12
        if rule.max_rank is not None:
            ok &= scores["rank_in_beat"].to_numpy(dtype="float64") <= rule.max_rank
        if rule.min_key_contacts is not None:
            kc = (np.zeros(n) if key_contacts is None else
                  pd.to_numeric(pd.Series(key_contacts), errors="coerce").fillna(0).to_numpy())
            ok &= kc >= rule.min_key_contacts
        if rule.priorities:
            has = np.array([priority_row(i, rule.priorities) is not None if o else False
                            for i, o in enumerate(ok)], dtype=bool) if n else ok
            ok &= has
        chosen[ok] = j

    names = (scores["name"] if "name" in scores else pd.Series([None] * n, index=scores.index))
    names = names.to_numpy(dtype=object).tolist()
    rank = scores["rank_in_beat"].to_numpy().tolist()
    voice_n = (scores["voice_n"].to_numpy() if "voice_n" in scores else np.full(n, np.nan)
               ).tolist()
    # Python lists: indexing one item is several times faster than on numpy arrays
    comp = {c: scores[c].to_numpy(dtype="float64").tolist() for c in _ALL_COMPONENTS}
    raw = {c: scores[f"{c}_raw"].to_numpy(dtype="float64").tolist() for c in _ALL_COMPONENTS}
    action = np.empty(n, dtype=object)
    label = np.empty(n, dtype=object)
    reason = np.empty(n, dtype=object)

    def listed(v):
        return None if v is None else list(v)

    args = dict(names=names, sid=sid.tolist(), beat=beat.tolist(), score=score.tolist(),
                rank=rank, voice_n=voice_n, comp=comp, raw=raw, share=share.tolist(),
                total=total.tolist(), top=top.tolist(), households=listed(households),
                members=listed(members), key_contacts=listed(key_contacts),
                crime_times=listed(crime_times), priority_row=priority_row)
    fields = [r.placeholders for r in rules.rules]
    for i in range(n):  # formatting text is per street; the conditions above are arrays
        j = int(chosen[i])
        if j < 0:
            action[i], label[i] = "no_action", ACTIONS["no_action"]
            reason[i] = f"no rule of {rules.source} applies"
            continue
        rule = rules.rules[j]
        action[i], label[i] = rule.action, rule.label
        values: dict[str, str] = {}
        for p in fields[j]:
            if p not in values:
                values[p] = _placeholder(p, i, rule, args)
        if k is not None:
            _withhold(values, rule, k, i, args)
        reason[i] = rule.reason.format_map(values)
    return pd.DataFrame({"street_id": sid, "action": action, "action_label": label,
                         "action_reason": reason}, index=scores.index)


def _small(text: str, k: int) -> bool:
    return text.isdigit() and 1 <= int(text) < k


def _withhold(values: dict[str, str], rule: ActionRule, k: int, i: int, a: dict) -> None:
    """Counts of people 1 .. k-1 in ``values`` become ``<k`` (in place). A street's
    member households and the others add up to its households, so when the members are
    withheld the others read "all but <k" (the households stay exact)."""
    for p in ("key_contacts", "priority_n", "voice_n"):
        if p in values and _small(values[p], k):
            values[p] = f"<{k}"
    if ("members" in values or "non_members" in values) and _small(
            _placeholder("members", i, rule, a), k):
        if "members" in values:
            values["members"] = f"<{k}"
        if "non_members" in values:
            values["non_members"] = f"all but <{k}"


def _placeholder(p: str, i: int, rule: ActionRule, a: dict) -> str:  # noqa: C901 - a lookup
    comp, raw, share = a["comp"], a["raw"], a["share"]
    if p == "name":
        v = a["names"][i]
        return str(v) if v is not None and v == v and str(v) else str(a["sid"][i])
    if p == "street_id":
        return str(a["sid"][i])
    if p == "beat":
        v = a["beat"][i]
        return str(v) if isinstance(v, str) and v else "the beat"
    if p == "score":
        return f"{a['score'][i]:.2f}"
    if p == "rank":
        return _fmt(a["rank"][i])
    if p == "voice_n":
        return _fmt(a["voice_n"][i])
    if p in _ALL_COMPONENTS:
        return f"{comp[p][i]:.2f}"
    if p.endswith("_raw"):
        return _fmt(raw[p[:-4]][i])
    if p.endswith("_share") and p[:-6] in PARTS:
        return _pct(share[i][PARTS.index(p[:-6])])
    if p in ("drivers", "drivers_share", "top_driver", "top_share"):
        drivers = list(rule.drivers) if rule.drivers and p.startswith("drivers") else (
            [PARTS[a["top"][i]]] if a["total"][i] > 0 else [])
        if not drivers:
            return _NA if p.endswith("share") else "no component"
        if p.endswith("share"):
            return _pct(sum(share[i][PARTS.index(c)] for c in drivers))
        return _and([f"{c} {comp[c][i]:.2f}" for c in drivers])
    if p in ("households", "members", "non_members"):
        hh, mem = a["households"], a["members"]
        h = None if hh is None else hh[i]
        m = None if mem is None else mem[i]
        h = None if h is None or pd.isna(h) else float(h)
        m = 0.0 if h is not None and (m is None or pd.isna(m)) else m
        if p == "households":
            return _fmt(h)
        if p == "members":
            return _fmt(m)
        return _NA if h is None or m is None else _fmt(max(h - float(m), 0.0))
    if p.startswith("priority"):
        row = a["priority_row"](i, rule.priorities)
        if row is None:
            return _NA if p != "priority" else "no local priority"
        if p == "priority":
            return str(row["label"])
        if p == "priority_share":
            return _pct(float(row["share"]))
        return _fmt(row["n"])
    if p == "key_contacts":
        kc = a["key_contacts"]
        v = None if kc is None else kc[i]
        return _fmt(0 if kc is not None and (v is None or pd.isna(v)) else v)
    if p == "crime_times":
        ct = a["crime_times"]
        v = None if ct is None else ct[i]
        if ct is not None and (v is None or (isinstance(v, float) and pd.isna(v))):
            return "no crime recorded in the beat in the last 12 months"
        return _NA if v is None else str(v)
    raise AssertionError(p)  # every placeholder is checked when the rules are read


# -- crime timing -----------------------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIMED = re.compile(r"^\d{4}-\d{2}-\d{2}[T ](\d{2}):\d{2}")


def crime_timing(beat_id, month, occurred_at, category, *, min_timed: int = 10) -> pd.Series:
    """When each beat's crime happens, in words (a patrol's "when"), one text per beat.

    Where at least half a beat's crimes (and ``min_timed``) have a time of day
    (``occurred_at`` ``YYYY-MM-DD HH:MM`` or ``…THH:MM``): the busiest four-hour block of
    the day and the two busiest days of the week. Otherwise (police.uk gives months only):
    the two busiest months and the most frequent category.

    Examples
    --------
    >>> t = crime_timing(["b", "b", "b"], ["2026-01", "2026-01", "2026-02"],
    ...                  [None, None, None], ["Burglary", "Burglary", "Drugs"])
    >>> t["b"]
    'most crime in Jan (2 of 3), mostly burglary (2 of 3); the data give months, not times'
    >>> crime_timing(["b", "b"], ["2026-01", "2026-01"], [None, None], ["Drugs", "Drugs"])["b"]
    'all 2 crimes are of one month (Jan), mostly drugs (2 of 2); too few months to say when'
    """
    f = pd.DataFrame({"beat": pd.Series(np.asarray(beat_id, dtype=object)).fillna(""),
                      "month": pd.Series(np.asarray(month, dtype=object)).astype(str),
                      "at": pd.Series(np.asarray(occurred_at, dtype=object)).fillna("")
                      .astype(str),
                      "category": pd.Series(np.asarray(category, dtype=object)).fillna("Other")
                      .astype(str)})
    hour = pd.to_numeric(f["at"].str.extract(_TIMED)[0], errors="coerce")
    day = pd.to_datetime(f["at"].str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    f["block"] = hour // 4
    f["dow"] = day.dt.dayofweek
    f["mon"] = pd.to_numeric(f["month"].str.slice(5, 7), errors="coerce")
    out = {}
    for b, g in f.groupby("beat", sort=True):
        total = len(g)
        timed = g["block"].notna()
        if timed.sum() >= max(min_timed, math.ceil(total / 2)):
            t = g[timed]
            blocks = t["block"].value_counts()
            top = blocks[blocks == blocks.max()].sort_index().index[0]
            days = t["dow"].value_counts().sort_index(kind="stable")
            days = days.sort_values(ascending=False, kind="stable").head(2)
            out[b] = (f"most crime {int(top) * 4:02d}:00-{int(top) * 4 + 4:02d}:00 "
                      f"({int(blocks.max())} of {len(t)} timed crimes), busiest on "
                      + _and([_DAYS[int(d)] for d in days.index]))
            continue
        months = g["mon"].dropna().astype(int).value_counts().sort_index(kind="stable")
        cats = g["category"].value_counts().sort_index(kind="stable")
        cats = cats.sort_values(ascending=False, kind="stable")
        if len(months) == 1:  # one month of data: nothing to say about when
            out[b] = (f"all {total} crimes are of one month ({_MONTHS[months.index[0] - 1]}), "
                      f"mostly {cats.index[0].lower()} ({int(cats.iloc[0])} of {total}); too "
                      "few months to say when")
            continue
        months = months.sort_values(ascending=False, kind="stable")
        best = months[months == months.max()].index[:2] if len(months) else []
        when = _and([_MONTHS[m - 1] for m in best]) if len(best) else "no month"
        out[b] = (f"most crime in {when} ({int(months.max()) if len(months) else 0} of "
                  f"{total}{' each' if len(best) > 1 else ''}), mostly "
                  f"{cats.index[0].lower()} ({int(cats.iloc[0])} of {total}); "
                  "the data give months, not times")
    return pd.Series(out, dtype=object)
