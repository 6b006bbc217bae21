# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading input files strictly, with errors that name the file, row, column and value.

Every importer reads text tables through :func:`read_csv_table`, which

- opens plain files and ``.gz`` (a truncated gzip stream is an error, not a short file);
- decodes strictly (UTF-8 by default, a byte-order mark is dropped); a byte that does not
  decode is reported with its line, and the message suggests ``--encoding cp1252`` for
  spreadsheet exports;
- checks that every row has as many fields as the header, so a truncated last line or a
  stray delimiter is caught with its row number;
- keeps every value as text; the ``parse_*`` helpers then turn columns into numbers, months
  and dates in bulk and report the first bad value (and how many others there are).

Row numbers are file line numbers (1-based, the header is line 1), which is what an analyst
sees when opening the file in a text editor or spreadsheet.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from spatial_core.errors import InputError

__all__ = [
    "CsvTable",
    "read_csv_table",
    "expand_paths",
    "file_sha256",
    "parse_float",
    "parse_int",
    "parse_month",
    "parse_date",
    "parse_datetime",
    "parse_choice",
    "normalise_postcodes",
    "is_postcode",
]

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}


@dataclass
class CsvTable:
    """A text table read from a file: every value is a string ('' when empty).

    ``lines`` holds the file line number of each row, for messages.
    """

    file: str
    columns: list[str]
    frame: pd.DataFrame
    lines: np.ndarray
    has_header: bool = True
    mapping: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def column(self, name: str) -> pd.Series:
        """A column by its canonical name (after :meth:`require`) or its name in the file."""
        real = self.mapping.get(name, name)
        return self.frame[real]

    def has(self, name: str) -> bool:
        return name in self.mapping or name in self.frame.columns

    def error(self, message: str, *, position: int | None = None, column: str | None = None,
              value: object = None) -> InputError:
        """An InputError for the row at ``position`` (0-based index into the frame)."""
        row = int(self.lines[position]) if position is not None else None
        col = self.mapping.get(column, column) if column else None
        return InputError(message, file=self.file, row=row, column=col, value=value)

    def require(self, wanted: dict[str, Sequence[str]],
                optional: dict[str, Sequence[str]] | None = None
                ) -> dict[str, str]:
        """Map canonical names to the file's columns, matching case- and space-insensitively.

        ``wanted`` maps each required canonical name to the names it may go by in real
        exports. A missing required column is an error listing the columns that were found.
        """
        norm = {_norm(c): c for c in self.columns}
        mapping: dict[str, str] = {}
        for group, required in ((wanted, True), (optional or {}, False)):
            for canonical, aliases in group.items():
                for alias in (canonical, *aliases):
                    if _norm(alias) in norm:
                        mapping[canonical] = norm[_norm(alias)]
                        break
                else:
                    if required:
                        names = " or ".join(repr(a) for a in (canonical, *aliases))
                        found = ", ".join(repr(c) for c in self.columns)
                        raise InputError(
                            f"missing column {names}; expected it in the header, which has "
                            f"{found}",
                            file=self.file, row=1 if self.has_header else None,
                        )
        self.mapping.update(mapping)
        return mapping


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def expand_paths(paths: Iterable[str | Path], patterns: Sequence[str] = ("*.csv", "*.csv.gz")
                 ) -> list[Path]:
    """Files from a mix of files and folders (folders are searched recursively, sorted)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted({f for pat in patterns for f in p.rglob(pat)})
            if not found:
                raise InputError(f"no files matching {', '.join(patterns)} in folder", file=str(p))
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise InputError("file not found", file=str(p))
    return out


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(f"the gzip file is damaged or truncated ({exc}); "
                             "download it again", file=str(path)) from None
    return raw


def _decode(raw: bytes, path: Path, encoding: str) -> str:
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start:exc.start + 4]
        hint = (" The file is probably a spreadsheet export in Windows-1252: "
                "pass --encoding cp1252."
                if encoding.lower().replace("-", "").startswith("utf") else "")
        raise InputError(f"byte {bad!r} at offset {exc.start} is not valid {encoding}: expected "
                         f"text in {encoding}.{hint}",
                         file=str(path), row=line) from None
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}", file=str(path)) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def read_csv_table(path: str | Path, *, encoding: str | None = None, header: bool = True,
                   names: Sequence[str] | None = None, delimiter: str = ",") -> CsvTable:
    """Read a delimited text file strictly (see the module docstring).

    Parameters
    ----------
    header : bool
        Whether the first line is a header. When False, ``names`` gives the columns.
    """
    path = Path(path)
    text = _decode(_read_bytes(path), path, encoding or "utf-8")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError("NUL byte in a text file: the file is damaged or not a CSV",
                         file=str(path), row=line)
    if header:
        first = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or None]),
                                delimiter=delimiter), None)
        if first is None:
            raise InputError("the file is empty; expected a header line", file=str(path))
        columns = [c.strip() for c in first]
        if not any(columns):
            raise InputError("the header line is empty", file=str(path), row=1)
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise InputError(f"duplicate column name(s) {dupes} in the header", file=str(path),
                             row=1)
    else:
        columns = list(names or [])
    fast = _read_fast(text, path, columns, header, delimiter)
    if fast is None:  # quoted line breaks: the csv module knows each record's line
        frame, lines, columns = _read_exact(text, path, columns, header, delimiter)
    else:
        frame, lines = fast
    return CsvTable(str(path), columns, frame, lines, has_header=header)


def _read_fast(text: str, path: Path, columns: list[str], header: bool, delimiter: str):
    """pandas' C parser; None when records span lines (then line numbers need the slow path)."""
    physical = text.split("\n")
    if physical and physical[-1] == "":
        physical.pop()
    nonblank = np.flatnonzero([bool(line.strip()) for line in physical]) + 1
    data_lines = nonblank[1:] if header else nonblank
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, skiprows=1 if header else 0,
            names=columns or None, dtype=str, keep_default_na=False, na_values=[],
            skip_blank_lines=True, engine="c", quoting=csv.QUOTE_MINIMAL, skipinitialspace=True,
        )
    except pd.errors.ParserError as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if m:
            raise InputError(f"{m[3]} fields, expected {m[1]} (an unquoted comma?)",
                             file=str(path), row=int(m[2])) from None
        return None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    if len(frame) != len(data_lines):
        return None
    if not columns:
        frame.columns = [f"column{i + 1}" for i in range(frame.shape[1])]
        columns[:] = list(frame.columns)
    frame = frame.astype(object)
    width = len(columns)
    # pandas pads short rows silently, and a first row with one field too many makes it take
    # the first column as the index (every value shifts one column): count each line's fields.
    for line_no in data_lines:
        line = physical[line_no - 1]
        n = (next(csv.reader([line], delimiter=delimiter)) if '"' in line
             else line.split(delimiter))
        if len(n) != width:
            hint = " (a truncated line?)" if len(n) < width else " (an unquoted comma?)"
            raise InputError(f"{len(n)} fields, expected {width}{hint}",
                             file=str(path), row=int(line_no))
    # Leading blanks went with skipinitialspace; strip trailing ones only when a field ends
    # with a blank somewhere in the file (one regex pass instead of a pass per value).
    if re.search(rf"[ \t]({re.escape(delimiter)}|$)", text, flags=re.M):
        frame = frame.apply(lambda col: col.str.strip())
    return frame, np.asarray(data_lines, dtype="int64")


def _read_exact(text: str, path: Path, columns: list[str], header: bool, delimiter: str):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        if header:
            next(reader)
        width = len(columns)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if width == 0:
                width = len(row)
                columns = [f"column{i + 1}" for i in range(width)]
            if len(row) != width:
                hint = " (a truncated line?)" if len(row) < width else " (an unquoted comma?)"
                raise InputError(f"{len(row)} fields, expected {width}{hint}",
                                 file=str(path), row=reader.line_num)
            rows.append([v.strip() for v in row])
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise InputError(f"not valid CSV: {exc}", file=str(path), row=reader.line_num) from None
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(
        {c: pd.Series([], dtype=object) for c in columns})
    return frame, np.asarray(lines, dtype="int64"), columns


def _first_bad(table: CsvTable, column: str, bad: np.ndarray, expected: str, values) -> InputError:
    pos = int(np.flatnonzero(bad)[0])
    more = int(bad.sum()) - 1
    extra = f" ({more} more row(s) like this)" if more else ""
    return table.error(f"expected {expected}{extra}", position=pos, column=column,
                       value=values[pos])


def parse_float(table: CsvTable, column: str, *, lo: float | None = None, hi: float | None = None,
                required: bool = False, what: str = "a number") -> np.ndarray:
    """A column as float64; empty gives NaN (or an error when ``required``)."""
    s = table.column(column)
    values = s.to_numpy(dtype=object)
    empty = (s == "").to_numpy()
    num = pd.to_numeric(s.where(~empty, None), errors="coerce").to_numpy(dtype="float64")
    bad = ~empty & ~np.isfinite(num)
    if required:
        bad |= empty
    if bad.any():
        raise _first_bad(table, column, bad, what, values)
    rng = np.zeros(len(num), dtype=bool)
    with np.errstate(invalid="ignore"):
        if lo is not None:
            rng |= num < lo
        if hi is not None:
            rng |= num > hi
    if rng.any():
        raise _first_bad(table, column, rng, f"{what} between {lo} and {hi}", values)
    return num


def parse_int(table: CsvTable, column: str, *, lo: int | None = None, hi: int | None = None,
              required: bool = False, what: str = "a whole number") -> np.ndarray:
    """A column as float64 holding whole numbers (NaN when empty)."""
    num = parse_float(table, column, lo=lo, hi=hi, required=required, what=what)
    frac = np.isfinite(num) & (num != np.round(num))
    if frac.any():
        raise _first_bad(table, column, frac, what, table.column(column).to_numpy(dtype=object))
    return num


_MONTH_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})-(\d{1,2})-\d{1,2}(?:[ T].*)?$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{4})/(\d{1,2})$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), lambda m: (int(m[2]), int(m[1]))),
    (re.compile(r"^\d{1,2}/(\d{1,2})/(\d{4})$"), lambda m: (int(m[2]), int(m[1]))),
    # Spreadsheets rewrite 2025-02 as Feb-25, Feb 2025 or 25-Feb.
    (re.compile(r"^([A-Za-z]{3})[a-z]*[-\s/](\d{2}|\d{4})$"),
     lambda m: (_year(m[2]), _MONTHS.get(m[1].lower(), 0))),
    (re.compile(r"^(\d{2})-([A-Za-z]{3})[a-z]*$"),
     lambda m: (_year(m[1]), _MONTHS.get(m[2].lower(), 0))),
]


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 else y


def parse_month(table: CsvTable, column: str, *, required: bool = True) -> np.ndarray:
    """A column of months as ``YYYY-MM`` text.

    Accepts ``2025-02``, ``2025-02-01``, ``02/2025``, ``01/02/2025`` (UK day first) and the
    spreadsheet forms ``Feb-25``, ``Feb 2025``, ``25-Feb``.
    """
    s = table.column(column)
    values = s.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    cache: dict[str, str | None] = {}
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values):
        if v in cache:
            out[i] = cache[v]
        else:
            out[i] = cache[v] = _month(v)
        if out[i] is None and (v != "" or required):
            bad[i] = True
    if bad.any():
        raise _first_bad(table, column, bad, "a month such as 2025-02 (or Feb-25)", values)
    return out


def _month(text: str) -> str | None:
    for pattern, get in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m:
            year, month = get(m)
            if 1 <= month <= 12 and 1900 <= year <= 2100:
                return f"{year:04d}-{month:02d}"
            return None
    return None


def parse_datetime(table: CsvTable, column: str, *, required: bool = True,
                   date_only: bool = False) -> np.ndarray:
    """A column of dates or date-times as ISO text (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM:SS``).

    ISO forms are read as they are; ``dd/mm/yyyy`` is read day first, as in UK exports.
    """
    s = table.column(column)
    values = s.to_numpy(dtype=object)
    empty = (s == "").to_numpy()
    iso = pd.to_datetime(s.where(~empty, None), errors="coerce", format="ISO8601")
    uk = pd.to_datetime(s.where(~empty & iso.isna(), None), errors="coerce", dayfirst=True,
                        format="mixed")
    parsed = iso.fillna(uk)
    bad = (~empty & parsed.isna().to_numpy()) | (empty & required)
    if bad.any():
        raise _first_bad(table, column, bad, "a date such as 2025-02-14 or 14/02/2025", values)
    fmt = "%Y-%m-%d" if date_only else "%Y-%m-%dT%H:%M:%S"
    out = parsed.dt.strftime(fmt).to_numpy(dtype=object)
    out[empty] = None
    return out


def parse_date(table: CsvTable, column: str, *, required: bool = True) -> np.ndarray:
    """A column of dates as ``YYYY-MM-DD`` text (see :func:`parse_datetime`)."""
    return parse_datetime(table, column, required=required, date_only=True)


def parse_choice(table: CsvTable, column: str, choices: dict[str, str], *, required: bool = True,
                 what: str | None = None) -> np.ndarray:
    """A column mapped through ``choices`` (keys compared case- and space-insensitively)."""
    s = table.column(column)
    values = s.to_numpy(dtype=object)
    lookup = {_norm(k): v for k, v in choices.items()}
    out = np.array([lookup.get(_norm(v)) if v else None for v in values], dtype=object)
    empty = (s == "").to_numpy()
    bad = (~empty & pd.isna(out)) | (empty & required)
    if bad.any():
        valid = sorted(set(choices.values()))
        raise _first_bad(table, column, bad, what or f"one of {', '.join(valid)}", values)
    return out


_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


def normalise_postcodes(values) -> np.ndarray:
    """Upper case, one space before the inward code; anything else that is not a postcode
    becomes None.

    Examples
    --------
    >>> normalise_postcodes(['ls11az', ' LS6  2AB', 'nonsense', '']).tolist()
    ['LS1 1AZ', 'LS6 2AB', None, None]
    """
    raw = pd.Series(values, dtype=object).fillna("").astype(str)
    codes, uniques = pd.factorize(raw, sort=False)  # a file repeats each postcode many times
    u = pd.Series(uniques, dtype=object).str.upper().str.replace(r"\s+", "", regex=True)
    u = u.str.slice(0, -3) + " " + u.str.slice(-3)
    u = u.where(u.str.match(_POSTCODE), None).to_numpy(dtype=object)
    out = np.full(len(raw), None, dtype=object)
    present = codes >= 0
    out[present] = u[codes[present]]
    return out


def is_postcode(values) -> np.ndarray:
    return pd.notna(normalise_postcodes(values))
