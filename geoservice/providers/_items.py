# SPDX-License-Identifier: GPL-3.0-or-later
"""The items query both engines share (:mod:`._store` over a table, :mod:`._frame` over a
computed frame): pygeoapi's arguments in; ``numberMatched``, the page, ``resulttype=hits``
and the audit entry out.

A subclass implements ``_matched`` (the rows the caller may see that match the query, in
their order: frame positions or table fids) and ``_page`` (the features of the requested
page of them, :meth:`Items.page`, and their ids for the audit log).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pygeoapi.provider.base import BaseProvider

from ..context import RequestContext, current
from ..errors import core_errors

__all__ = ["Items", "ItemsProvider"]


@dataclass(frozen=True)
class Items:
    """One ``/items`` query as pygeoapi passes it to a provider."""

    offset: int = 0
    limit: int = 10
    resulttype: str = "results"
    bbox: list | None = None
    properties: list | None = None
    sortby: list | None = None
    select_properties: list | None = None
    skip_geometry: bool = False
    filterq: Any = None
    crs_transform_spec: Any = None

    def page(self, rows: np.ndarray) -> np.ndarray:
        """The requested page of ``rows`` (``offset``, ``limit``)."""
        return rows[self.offset:self.offset + self.limit]


class ItemsProvider(BaseProvider):
    """A pygeoapi feature provider whose ``query`` is :meth:`_matched` then :meth:`_page`."""

    def _matched(self, ctx: RequestContext, items: Items) -> np.ndarray:
        """The rows ``ctx``'s caller may see that match ``items``, in order."""
        raise NotImplementedError

    def _page(self, ctx: RequestContext, items: Items,
              rows: np.ndarray) -> tuple[list[Any], list[str]]:
        """The features of ``items.page(rows)`` (``rows``: :meth:`_matched`'s) and their
        ids."""
        raise NotImplementedError

    def _audit(self, ctx: RequestContext, action: str, **entry: Any) -> None:
        """Audit a personal-data access (only personal collections do)."""

    @core_errors
    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list | None = None, datetime_: str | None = None,
              properties: list | None = None, sortby: list | None = None,
              select_properties: list | None = None, skip_geometry: bool = False,
              q: str | None = None, filterq=None, crs_transform_spec=None,
              **kwargs: Any) -> dict:
        ctx = current()
        items = Items(offset=offset, limit=limit, resulttype=resulttype, bbox=bbox,
                      properties=properties, sortby=sortby,
                      select_properties=select_properties, skip_geometry=skip_geometry,
                      filterq=filterq, crs_transform_spec=crs_transform_spec)
        rows = self._matched(ctx, items)
        matched = len(rows)
        out: dict[str, Any] = {"type": "FeatureCollection", "features": [],
                               "numberMatched": matched, "numberReturned": 0}
        if resulttype == "hits":
            self._audit(ctx, "read", ids=[], number_matched=matched)
            return out
        features, ids = self._page(ctx, items, rows)
        out["features"] = features
        out["numberReturned"] = len(features)
        self._audit(ctx, "read", ids=ids, number_matched=matched)
        return out
