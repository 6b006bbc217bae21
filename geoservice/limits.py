# SPDX-License-Identifier: GPL-3.0-or-later
"""Bounds on what a request may send, checked before any route reads it (every route: the
OGC API, the officer page, the demo sign-in and the residents' pages alike).

- a body longer than :data:`MAX_BODY_BYTES` is a **413** (``Content-Length`` checked before
  the body is read; a chunked body is cut off by Flask at the same size);
- a JSON body nested deeper than :data:`MAX_DEPTH`, or with a string longer than
  :data:`MAX_STRING`, is a **400** saying which bound it broke (Python's JSON parser would
  otherwise recurse 50,000 levels into a ``RecursionError``: a 500);
- every error the app answers is JSON with its status (:func:`json_error`).

The bounds can be changed with ``$LPT_MAX_BODY_BYTES``, ``$LPT_MAX_JSON_DEPTH`` and
``$LPT_MAX_STRING``.
"""
from __future__ import annotations

import os
import re

import numpy as np

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "MAX_STRING", "json_body_problem", "body_too_large"]

MAX_BODY_BYTES = int(os.environ.get("LPT_MAX_BODY_BYTES", 1 << 20))
"""Largest request body accepted (1 MiB: a visit, a process input, a CQL2 JSON filter)."""
MAX_DEPTH = int(os.environ.get("LPT_MAX_JSON_DEPTH", 32))
"""Deepest JSON nesting accepted (GeoJSON polygons need 4; CQL2 JSON a few more)."""
MAX_STRING = int(os.environ.get("LPT_MAX_STRING", 10_000))
"""Longest JSON string accepted (characters, as sent: a visit note, a message, a name)."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def body_too_large(content_length: int | None) -> str | None:
    """Why a body of this length is refused (None: it is not).

    >>> body_too_large(2 << 20)
    'the request body is 2097152 bytes; at most 1048576 are accepted'
    >>> body_too_large(10) is None and body_too_large(None) is None
    True
    """
    if content_length is not None and content_length > MAX_BODY_BYTES:
        return (f"the request body is {content_length} bytes; at most {MAX_BODY_BYTES} are "
                "accepted")
    return None


def json_body_problem(raw: bytes) -> str | None:
    """Why a JSON body is refused before it is parsed (None: it may be parsed).

    >>> json_body_problem(b'{"a": [1, {"b": "x"}]}') is None
    True
    >>> json_body_problem(b"[" * 50000 + b"]" * 50000)
    'the JSON body is nested 50000 levels deep; at most 32 are accepted'
    >>> json_body_problem(b'{"note": "' + b"x" * 20000 + b'"}')
    'a JSON string in the body is 20000 characters long; at most 10000 are accepted'
    >>> json_body_problem(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') is None
    True
    """
    longest = 0
    pieces = []
    last = 0
    for m in _STRING.finditer(raw):
        longest = max(longest, m.end() - m.start() - 2)
        pieces.append(raw[last:m.start()])
        last = m.end()
    if longest > MAX_STRING:
        return (f"a JSON string in the body is {longest} characters long; at most "
                f"{MAX_STRING} are accepted")
    pieces.append(raw[last:])
    rest = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    step = (np.isin(rest, (ord("["), ord("{"))).astype(np.int32)
            - np.isin(rest, (ord("]"), ord("}"))).astype(np.int32))
    depth = int(np.cumsum(step).max()) if len(step) else 0
    if depth > MAX_DEPTH:
        return f"the JSON body is nested {depth} levels deep; at most {MAX_DEPTH} are accepted"
    return None
