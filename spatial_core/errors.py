# SPDX-License-Identifier: GPL-3.0-or-later
"""The exceptions raised by :mod:`spatial_core`.

One small hierarchy, as in h3-py: every error is a :class:`SpatialCoreError`, and each
subclass also inherits the built-in exception a caller would naturally catch. The core
knows nothing of HTTP status codes or QGIS message levels; each front maps these at its edge.
"""
from __future__ import annotations

__all__ = [
    "SpatialCoreError",
    "InputError",
    "StoreError",
    "SchemaVersionError",
    "NotFoundError",
    "ReadOnlyError",
    "Cancelled",
]


class SpatialCoreError(Exception):
    """Base class of every error raised by spatial_core."""


class InputError(SpatialCoreError, ValueError):
    """Bad input: a file, row, column or value that is not what was expected.

    Parameters
    ----------
    message : str
        What was wrong and what was expected.
    file, row, column, value : optional
        Where the problem is. ``row`` is the 1-based line number in the file (the header,
        when there is one, is line 1), so an analyst can open the file at that line; in a
        vector file it is the 1-based feature number in the layer.
    feature : str, optional
        The feature's id or name attribute (``"code 'B2'"``), shown after the row.

    Examples
    --------
    >>> err = InputError("expected a number", file="crimes.csv", row=12, column="Latitude",
    ...                  value="53,8")
    >>> str(err)
    "crimes.csv, row 12, column 'Latitude': value '53,8': expected a number"
    >>> str(InputError("expected a line", file="ways.gpkg", row=3, feature="osm_id '42'",
    ...                column="geometry"))
    "ways.gpkg, row 3 (osm_id '42'), column 'geometry': expected a line"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        feature: str | None = None,
    ) -> None:
        self.message = message
        self.feature = feature
        self.file = file
        self.row = row
        self.column = column
        self.value = value
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" + (f" ({self.feature})" if self.feature else ""))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = ", ".join(where)
        if self.value is not None:
            shown = str(self.value)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            text = f"{text}: value {shown!r}" if text else f"value {shown!r}"
        return f"{text}: {self.message}" if text else self.message

    def __reduce__(self):
        # Kept whole when it crosses processes (a Dask worker's error reaches the client
        # with its file, row and column, not only its text).
        return (_input_error, (type(self), self.message, self.file, self.row, self.column,
                               self.value, self.feature))


def _input_error(cls, message, file, row, column, value, feature):
    return cls(message, file=file, row=row, column=column, value=value, feature=feature)


class StoreError(SpatialCoreError, RuntimeError):
    """The store cannot be opened, read or written."""


class SchemaVersionError(StoreError):
    """The store was written by a newer version of this software."""


class NotFoundError(SpatialCoreError, KeyError):
    """A named thing (area, set-up, profile) does not exist."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want plain text
        return str(self.args[0]) if self.args else ""


class ReadOnlyError(SpatialCoreError, PermissionError):
    """A write to something that is read-only (an archived set-up)."""


class Cancelled(SpatialCoreError):
    """The caller's cancellation callable asked the work to stop."""
