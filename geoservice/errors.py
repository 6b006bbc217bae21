# SPDX-License-Identifier: GPL-3.0-or-later
"""One table from the core's errors to HTTP answers, for providers and processes alike.

A core :class:`~spatial_core.errors.InputError` (bad input: the caller can fix it) is a 400
with its message, :class:`~spatial_core.errors.NotFoundError` a 404 and
:class:`~spatial_core.errors.ReadOnlyError` (an archived set-up) a 409. Any other error stays
a 500 (a fault of ours, logged, its message not shown). Providers are wrapped with
:func:`core_errors`; processes convert with :func:`process_error`.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.provider.base import ProviderGenericError

from spatial_core.errors import InputError, NotFoundError, ReadOnlyError

__all__ = ["CORE_ERRORS", "http_answer", "provider_error", "process_error", "core_errors"]

CORE_ERRORS: tuple[tuple[type[Exception], HTTPStatus, str], ...] = (
    (NotFoundError, HTTPStatus.NOT_FOUND, "NotFound"),
    (ReadOnlyError, HTTPStatus.CONFLICT, "Conflict"),
    (InputError, HTTPStatus.BAD_REQUEST, "InvalidParameterValue"),
)
"""Core error class -> (HTTP status, OGC exception code); the first match wins."""


def http_answer(exc: BaseException) -> tuple[HTTPStatus, str] | None:
    """The status and OGC code of a core error (None: not in the table, a 500)."""
    for cls, status, code in CORE_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return None


def provider_error(exc: BaseException) -> ProviderGenericError | None:
    """A pygeoapi provider error answering ``exc`` as :data:`CORE_ERRORS` says."""
    answer = http_answer(exc)
    if answer is None:
        return None
    err = ProviderGenericError(user_msg=str(exc))
    err.http_status_code, err.ogc_exception_code = answer
    return err


def process_error(exc: BaseException) -> ProcessorExecuteError | None:
    """A pygeoapi process error answering ``exc`` as :data:`CORE_ERRORS` says."""
    answer = http_answer(exc)
    if answer is None:
        return None
    err = ProcessorExecuteError(user_msg=str(exc))
    err.http_status_code, err.ogc_exception_code = answer
    return err


def core_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a provider method so that a core error becomes its HTTP answer."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (InputError, NotFoundError, ReadOnlyError) as exc:
            err = provider_error(exc)
            if err is None:  # pragma: no cover - every class caught is in the table
                raise
            raise err from None
    return wrapper
