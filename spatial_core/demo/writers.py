# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing the demo files byte for byte the same every time: CSV and GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

__all__ = ["write_csv", "write_rows", "write_geojson"]

_CHUNK = 500_000


def write_csv(path: Path, frame: pd.DataFrame, *, header: bool = True) -> Path:
    """Write ``frame`` (text and whole numbers; floats pre-formatted by the caller) in chunks."""
    cols = [c for c in frame.columns if not str(c).startswith("_")]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for start in range(0, max(len(frame), 1), _CHUNK):
            part = frame.iloc[start : start + _CHUNK][cols]
            part.to_csv(fh, index=False, header=header and start == 0, lineterminator="\n")
    return path


def write_rows(path: Path, header: list[str], columns: list, formats: list[str]) -> Path:
    """Write plain CSV rows with one ``%`` format per chunk: the fast path for big files.

    The caller guarantees that no text value holds a comma, quote or line break (so nothing
    needs quoting); ``formats`` are printf codes such as ``%s`` or ``%.2f``.
    """
    line = ",".join(formats) + "\n"
    n = len(columns[0])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            flat = [None] * ((stop - start) * len(columns))
            for k, col in enumerate(columns):
                flat[k :: len(columns)] = np.asarray(col[start:stop]).tolist()
            fh.write((line * (stop - start)) % tuple(flat))
    return path


def _json_values(values) -> list[str]:
    """JSON text of each value; plain ASCII strings take a fast path."""
    arr = np.asarray(values, dtype=object).tolist()
    if all(type(v) is str for v in arr):
        text = "".join(arr)
        if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
            return [f'"{v}"' for v in arr]
    return [json.dumps(v, ensure_ascii=False) for v in arr]


def write_geojson(
    path: Path,
    geoms: np.ndarray,
    properties: dict[str, np.ndarray],
    *,
    epsg: int | None = None,
    decimals: int = 2,
    name: str | None = None,
) -> Path:
    """A GeoJSON FeatureCollection; ``epsg`` other than 4326 adds the (GDAL-read) ``crs`` member.

    Coordinates are rounded to ``decimals``; features are written in the order given.
    """
    rounded = shapely.transform(np.asarray(geoms), lambda c: np.round(c, decimals))
    geo = shapely.to_geojson(rounded)
    cols = {k: _json_values(v) for k, v in properties.items()}
    keys = [json.dumps(k) for k in properties]
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write('{\n"type": "FeatureCollection",\n')
        if name:
            fh.write(f'"name": {json.dumps(name)},\n')
        if epsg and epsg != 4326:
            fh.write(
                '"crs": { "type": "name", "properties": { "name": '
                f'"urn:ogc:def:crs:EPSG::{epsg}" }} }},\n'
            )
        fh.write('"features": [\n')
        n = len(geo)
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            lines = []
            for i in range(start, stop):
                props = ", ".join(
                    f"{k}: {cols[c][i]}" for k, c in zip(keys, properties, strict=True)
                )
                sep = "," if i < n - 1 else ""
                lines.append(
                    f'{{ "type": "Feature", "properties": {{ {props} }}, '
                    f'"geometry": {geo[i]} }}{sep}\n'
                )
            fh.write("".join(lines))
        fh.write("]\n}\n")
    return path
