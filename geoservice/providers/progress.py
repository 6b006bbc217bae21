# SPDX-License-Identifier: GPL-3.0-or-later
"""Supervisors' progress: ``progress_headline``, ``progress_setups``, ``progress_beats``,
``progress_officers`` and ``progress_days``.

Each is one table of one call to :func:`spatial_core.api.progress.progress` with the
caller's :class:`~spatial_core.api.Scope` (:func:`geoservice.access.scope_of`); what a role
sees is the core's rule:

- ``progress_headline`` (every role): houses visited, visits, registered, joined, surveyed,
  answered online later. Police roles: the visits in their beats (the force for an
  analyst), from ``?since=YYYY-MM-DD``; partners and the public: the force in whole months,
  counts from 1 to k-1 withheld;
- ``progress_setups`` (police roles): each live set-up they may see against its targets,
  with its outline;
- ``progress_beats`` (police roles): each set-up's beats in their scope with the targets
  split by walk-list households and whether the beat is falling behind, with the beat's
  outline;
- ``progress_officers`` (police roles; officers' ids as recorded with the visits: audited,
  with an ``X-Purpose``) and ``progress_days``: visits in their beats per officer and per day
  (from ``?since``).

The report is computed once per caller scope and ``since`` for a couple of seconds and shared
by the five collections (the officer page asks for them together).
"""
from __future__ import annotations

from urllib.parse import parse_qs

import numpy as np
import pandas as pd

from spatial_core import InputError
from spatial_core.frames import plain_columns, plain_value

from .. import stores
from ..access import require_police, scope_of
from ..context import RequestContext
from ._frame import FrameProvider

__all__ = ["ProgressHeadlineProvider", "ProgressSetupProvider", "ProgressBeatProvider",
           "ProgressOfficerProvider", "ProgressDayProvider"]

_COUNTS = {"visits": "integer", "households_visited": "integer", "registered": "integer",
           "joined": "integer", "surveyed": "integer", "surveyed_online": "integer"}
_TARGETS = {f"{p}_{t}": "number" for p in ("target", "share")
            for t in ("visits", "registrations", "surveys")}


def _since(ctx: RequestContext) -> str | None:
    got = parse_qs(ctx.query or "").get("since", [None])[0]
    return got or None


class _ProgressFrame(FrameProvider):
    """One table of the caller's progress report."""

    ttl = 2.0  # visits recorded from the page keep the data version
    police_only = True
    table = ""

    def _cache_key(self, ctx: RequestContext) -> tuple:
        p = ctx.principal
        return (type(self).__name__, self.data, p.role, tuple(sorted(p.areas)), _since(ctx))

    def _report(self, ctx: RequestContext):
        from spatial_core.api.progress import progress

        scope = scope_of(self.data, ctx.principal, k=int(self.options.get("k", 5)))
        since = _since(ctx)
        key = ("progress_report", self.data, scope.role, scope.areas, since)

        def compute():
            try:
                return progress(self.store, scope, since=since)
            except InputError as exc:
                from pygeoapi.provider.base import ProviderInvalidQueryError

                raise ProviderInvalidQueryError(user_msg=str(exc)) from None

        return stores.cached(key, self.ttl, compute)

    def _entry(self, ctx: RequestContext):
        if self.police_only:
            try:
                require_police(ctx, self.collection)  # refuse before anything is computed
            except Exception as exc:
                self._audit(ctx, "denied", outcome=getattr(exc, "message", str(exc)))
                raise
        return super()._entry(ctx)

    def _scope(self, frame: pd.DataFrame, ctx: RequestContext) -> np.ndarray | None:
        if self.police_only:
            require_police(ctx, self.collection)
        ctx.notes["scope"] = "core"
        return None  # the core returned only what the scope may see

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        report = self._report(ctx)
        f = getattr(report, self.table).copy()
        if "rule" in self.field_types:
            f["rule"] = report.rule
        out = plain_columns(f, self.field_types)
        out[self.id_column] = self._ids(f)
        out["geometry"] = self._geometry(f)
        return out

    def _ids(self, f: pd.DataFrame) -> list[str]:
        return f[self.id_column].astype(str).tolist()

    def _geometry(self, f: pd.DataFrame) -> list:
        return [None] * len(f)


class ProgressHeadlineProvider(_ProgressFrame):
    """The headline: one feature (``headline``) for the caller's scope."""

    collection = "progress_headline"
    id_column = "headline_id"
    police_only = False
    field_types = {"headline_id": "string", **_COUNTS, "since": "string", "until": "string",
                   "scope": "string", "k": "integer"}

    def _load(self, ctx: RequestContext) -> pd.DataFrame:
        r = self._report(ctx)
        row = {"headline_id": "headline", **{c: plain_value(r.headline.get(c)) for c in _COUNTS},
               "since": r.headline.get("since"), "until": r.headline.get("until"),
               "scope": "force" if r.k is not None or ctx.principal.role == "force_analyst"
               else "your areas", "k": r.k, "geometry": None}
        return pd.DataFrame([row])


class ProgressSetupProvider(_ProgressFrame):
    """Live set-ups against their targets, with their outline."""

    collection = "progress_setups"
    id_column = "setup_id"
    table = "setups"
    field_types = {"setup_id": "string", "name": "string", "goal": "string",
                   "areas": "array", "beats": "array", "created_at": "string",
                   "days_elapsed": "number", "elapsed": "number", "households": "integer",
                   **_COUNTS, **_TARGETS, "share_households": "number",
                   "judged_on": "string", "behind": "boolean", "behind_on": "array",
                   "beats_behind": "integer", "rule": "string"}

    def _geometry(self, f: pd.DataFrame) -> list:
        return f["geometry"].tolist() if "geometry" in f.columns else [None] * len(f)


class ProgressBeatProvider(_ProgressFrame):
    """Each set-up's beats in the caller's scope, falling behind or not, with the outline."""

    collection = "progress_beats"
    id_column = "progress_id"
    table = "beats"
    field_types = {"progress_id": "string", "setup_id": "string", "setup_name": "string",
                   "beat_id": "string", "households": "integer", **_COUNTS, **_TARGETS,
                   "share_households": "number", "elapsed": "number", "behind": "boolean",
                   "behind_on": "array"}

    def _ids(self, f: pd.DataFrame) -> list[str]:
        return (f["setup_id"].astype(str) + "/" + f["beat_id"].astype(str)).tolist()

    def _geometry(self, f: pd.DataFrame) -> list:
        from spatial_core.api.export import area_geometries

        shapes = stores.cached(("progress_outlines", self.data), 300, lambda: area_geometries(
            self.store, stores.area_tree(self.data)["area_id"]))
        return [shapes.get(b) for b in f["beat_id"]]


class ProgressOfficerProvider(_ProgressFrame):
    """Visits in the caller's beats per set-up and officer (officers' ids: audited)."""

    collection = "progress_officers"
    id_column = "progress_id"
    table = "officers"
    personal = True
    field_types = {"progress_id": "string", "setup_id": "string", "setup_name": "string",
                   "officer": "string", **_COUNTS, "days_out": "integer",
                   "first_day": "string", "last_day": "string"}

    def _ids(self, f: pd.DataFrame) -> list[str]:
        return (f["setup_id"].astype(str) + "/" + f["officer"].astype(str)).tolist()


class ProgressDayProvider(_ProgressFrame):
    """Visits in the caller's beats per set-up and day."""

    collection = "progress_days"
    id_column = "progress_id"
    table = "days"
    field_types = {"progress_id": "string", "setup_id": "string", "setup_name": "string",
                   "day": "string", **_COUNTS, "officers": "integer"}

    def _ids(self, f: pd.DataFrame) -> list[str]:
        return (f["setup_id"].astype(str) + "/" + f["day"].astype(str)).tolist()
