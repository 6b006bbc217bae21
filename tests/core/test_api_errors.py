# SPDX-License-Identifier: GPL-3.0-or-later
"""The service's one table from core errors to HTTP answers (geoservice.errors), checked with
errors raised by real core calls."""
from __future__ import annotations

from http import HTTPStatus

import pandas as pd
import pytest
from pygeoapi.process.base import ProcessorExecuteError
from pygeoapi.provider.base import ProviderGenericError

from spatial_core import InputError, NotFoundError
from spatial_core.analytics.disclosure import suppress_counts
from spatial_core.errors import ReadOnlyError, StoreError
from spatial_core.targeting.profiles import load_profile

geoservice_errors = pytest.importorskip("geoservice.errors")


def _bad_k():
    tree = pd.DataFrame({"area_id": ["force:F"], "level": ["force"], "parent_id": [None],
                         "n": [3]})
    return suppress_counts(tree, ["n"], k=1)


def test_core_input_error_in_a_provider_is_a_400_with_its_message():
    wrapped = geoservice_errors.core_errors(_bad_k)
    with pytest.raises(ProviderGenericError) as caught:
        wrapped()
    assert caught.value.http_status_code == HTTPStatus.BAD_REQUEST
    assert caught.value.ogc_exception_code == "InvalidParameterValue"
    assert "k must be at least 2" in caught.value.message


def test_core_not_found_in_a_provider_is_a_404():
    wrapped = geoservice_errors.core_errors(lambda: load_profile("no-such-profile"))
    with pytest.raises(ProviderGenericError) as caught:
        wrapped()
    assert caught.value.http_status_code == HTTPStatus.NOT_FOUND
    assert "no-such-profile" in caught.value.message


def test_the_table_for_processes_and_what_stays_a_500():
    for exc, status in ((InputError("bad"), 400), (NotFoundError("gone"), 404),
                        (ReadOnlyError("archived"), 409)):
        err = geoservice_errors.process_error(exc)
        assert isinstance(err, ProcessorExecuteError)
        assert (int(err.http_status_code), err.message) == (status, str(exc))
    assert geoservice_errors.http_answer(StoreError("disk")) is None  # ours: a 500
    assert geoservice_errors.http_answer(ValueError("x")) is None
