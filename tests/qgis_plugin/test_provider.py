# SPDX-License-Identifier: GPL-3.0-or-later
"""The provider ``lpt`` and its algorithms in a real QgsApplication."""
from __future__ import annotations

import pytest

FOUNDATION = {
    "import_addresses", "import_boundaries", "import_classification", "import_crimes",
    "import_members", "import_postcodes", "import_streets", "import_surveys", "import_visits",
    "refresh_index", "store_status", "load_store_layers", "install_dependencies",
    "set_default_store",
}


def test_provider_lpt_is_registered_with_the_foundation_algorithms(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("lpt")
    assert provider is not None
    assert provider.name() == "Local priority targeting"
    ids = {a.name() for a in provider.algorithms()}
    assert FOUNDATION <= ids
    for alg in provider.algorithms():
        assert alg.id() == f"lpt:{alg.name()}"
        assert alg.name() == alg.name().lower()
        assert alg.displayName() and alg.groupId() and alg.shortHelpString()


@pytest.mark.parametrize("name", sorted(FOUNDATION - {"install_dependencies"}))
def test_algorithm_takes_the_store_parameter_first(qgis_app, name):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById(f"lpt:{name}")
    assert alg.parameterDefinitions()[0].name() == "STORE"


def test_import_algorithms_share_files_layer_crs_and_report_outputs(qgis_app):
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().createAlgorithmById("lpt:import_boundaries")
    params = [p.name() for p in alg.parameterDefinitions()]
    assert params[:5] == ["STORE", "FILES", "LAYER", "CRS", "ENCODING"]
    assert {"LEVEL", "ID_FIELD", "NAME_FIELD", "BOUNDARY_SET"} <= set(params)
    assert [o.name() for o in alg.outputDefinitions()] == ["READ", "IMPORTED", "SKIPPED", "REPORT"]
