# SPDX-License-Identifier: GPL-3.0-or-later
"""What every ``lpt`` algorithm shares: the store parameter, progress, cancellation, errors."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterString,
)
from qgis.PyQt.QtCore import QCoreApplication

from ..settings import default_store

__all__ = ["LptAlgorithm", "core_call", "progress_callable"]


def progress_callable(feedback: QgsProcessingFeedback | None) -> Callable[[float, str], None]:
    """A plain ``progress(fraction, message)`` for spatial_core that also carries cancellation.

    When the user cancels, the next call raises :class:`spatial_core.Cancelled`; the core's
    transaction is rolled back, so the store is left as it was.
    """
    from spatial_core.errors import Cancelled

    last = [""]

    def progress(fraction: float, message: str) -> None:
        if feedback is None:
            return
        if feedback.isCanceled():
            raise Cancelled("cancelled by the user")
        feedback.setProgress(max(0.0, min(100.0, 100.0 * float(fraction))))
        if message and message != last[0]:
            last[0] = message
            feedback.setProgressText(message)

    return progress


@contextlib.contextmanager
def core_call() -> Iterator[None]:
    """Turn spatial_core's errors into :class:`QgsProcessingException` with the core's text."""
    from spatial_core.errors import Cancelled, SpatialCoreError

    try:
        yield
    except Cancelled as exc:
        raise QgsProcessingException(f"Cancelled: {exc}; the store was not changed") from exc
    except SpatialCoreError as exc:
        raise QgsProcessingException(str(exc)) from exc


class LptAlgorithm(QgsProcessingAlgorithm):
    """Base of the provider's algorithms; subclasses set the class attributes below."""

    NAME = ""  # the stable id: lpt:<NAME>
    DISPLAY_NAME = ""
    GROUP = "Store"
    GROUP_ID = "store"
    HELP = ""

    STORE = "STORE"
    SETUP_ID = "SETUP_ID"  # add_setup_parameters
    NOW = "NOW"

    def name(self) -> str:
        return self.NAME

    def displayName(self) -> str:  # noqa: N802 - QGIS API
        return self.tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return self.tr(self.GROUP)

    def groupId(self) -> str:  # noqa: N802 - QGIS API
        return self.GROUP_ID

    def shortHelpString(self) -> str:  # noqa: N802 - QGIS API
        return self.tr(self.HELP)

    def createInstance(self):  # noqa: N802 - QGIS API
        return type(self)()

    def tr(self, text: str) -> str:
        return QCoreApplication.translate("LocalPriorityTargeting", text)

    def add_store_parameter(self) -> None:
        """STORE: a GeoPackage path or a postgresql:// URL; default from the plugin setting."""
        self.addParameter(QgsProcessingParameterString(
            self.STORE, self.tr("Store (GeoPackage file or postgresql:// URL)"),
            defaultValue=default_store() or None, optional=True))

    def add_setup_parameters(self, now_label: str = "At (default the clock)") -> None:
        """STORE, SETUP_ID (a set-up id) and NOW (an optional moment; default the clock)."""
        self.add_store_parameter()
        self.addParameter(QgsProcessingParameterString(self.SETUP_ID, self.tr("Set-up id")))
        self.addParameter(QgsProcessingParameterString(
            self.NOW, self.tr(now_label), optional=True))

    def setup_and_now(self, parameters: dict,
                      context: QgsProcessingContext) -> tuple[str, str | None]:
        """The SETUP_ID and NOW of :meth:`add_setup_parameters` (NOW None when empty)."""
        setup_id = self.parameterAsString(parameters, self.SETUP_ID, context).strip()
        now = self.parameterAsString(parameters, self.NOW, context).strip() or None
        return setup_id, now

    def store_location(self, parameters: dict, context: QgsProcessingContext) -> str:
        location = (self.parameterAsString(parameters, self.STORE, context) or "").strip()
        location = location or default_store()
        if not location:
            raise QgsProcessingException(
                "No store given: pass a GeoPackage file path or a postgresql:// URL as STORE, "
                "or set the default store (setting local_priority_targeting/store).")
        return location

    def open_store(self, parameters: dict, context: QgsProcessingContext, *,
                   create: bool = False):
        """The store named by STORE, opened with spatial_core (errors mapped)."""
        from spatial_core import open_store

        location = self.store_location(parameters, context)
        with core_call():
            return open_store(location, create=create)

    @contextlib.contextmanager
    def opened_store(self, parameters: dict, context: QgsProcessingContext, *,
                     create: bool = False):
        """The store named by STORE for a ``with`` block: the block's core errors mapped
        (:func:`core_call`), the store closed after it."""
        store = self.open_store(parameters, context, create=create)
        try:
            with core_call():
                yield store
        finally:
            store.close()
