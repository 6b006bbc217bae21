# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input, cancellation and imports from project layers, through ``processing.run``."""
from __future__ import annotations

import pytest


def _core_error(kind, files, **options):
    """The message spatial_core gives for the same input."""
    import tempfile

    from spatial_core import InputError, open_store
    from spatial_core.io.imports import import_files

    store = open_store(tempfile.mkdtemp() + "/ref.gpkg")
    try:
        with pytest.raises(InputError) as info:
            import_files(store, kind, files, **options)
    finally:
        store.close()
    return str(info.value)


@pytest.mark.real_data
def test_wards_without_crs_fail_with_the_core_message_and_leave_the_store_unchanged(
        run, real, tmp_path):
    from qgis.core import QgsProcessingException

    from spatial_core import open_store

    path = real / "leeds/boundaries/leeds_wards_2017.geojson"
    expected = _core_error("boundaries", [path], level="ward")
    assert "--crs 27700" in expected
    location = str(tmp_path / "s.gpkg")
    with pytest.raises(QgsProcessingException) as info:
        run("import_boundaries", {"STORE": location, "FILES": [str(path)], "LEVEL": 3})
    assert str(info.value) == expected
    with open_store(location) as store:
        assert store.count("areas") == 0 and store.count("lpt_imports") == 0


def test_corrupt_crime_row_gives_file_row_column_and_value(run, tmp_path):
    from qgis.core import QgsProcessingException

    path = tmp_path / "2024-01-test-street.csv"
    path.write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context\n"
        "abc,2024-01,West Yorkshire Police,West Yorkshire Police,-1.55,53.80,On or near X,"
        "E01011111,Leeds 001A,Burglary,,\n"
        "def,2024-01,West Yorkshire Police,West Yorkshire Police,-1.55,fifty-three,On or near Y,"
        "E01011111,Leeds 001A,Burglary,,\n", encoding="utf-8")
    expected = _core_error("crimes", [path])
    assert "row 3" in expected and "fifty-three" in expected
    with pytest.raises(QgsProcessingException, match="fifty-three") as info:
        run("import_crimes", {"STORE": str(tmp_path / "s.gpkg"), "FILES": [str(path)]})
    assert str(info.value) == expected


def test_no_files_and_no_layer_is_a_clear_error(run, tmp_path):
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="Give files to import or a layer"):
        run("import_crimes", {"STORE": str(tmp_path / "s.gpkg")})


@pytest.mark.real_data
def test_cancelled_import_raises_and_writes_nothing(run, real, tmp_path):
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from spatial_core import open_store

    feedback = QgsProcessingFeedback()
    feedback.cancel()
    location = str(tmp_path / "s.gpkg")
    with pytest.raises(QgsProcessingException, match="Cancelled"):
        run("import_crimes", {"STORE": location, "FILES": [
            str(real / "leeds/crime/2016-07-west-yorkshire-street.csv")]}, feedback)
    with open_store(location) as store:
        assert store.count("crimes") == 0


@pytest.mark.real_data
def test_wards_from_a_project_layer_import_like_the_file(run, real, tmp_path):
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(str(real / "leeds/boundaries/leeds_wards_2017.geojson"),
                           "Leeds wards 2017", "ogr")
    assert layer.isValid() and layer.featureCount() == 33
    out = run("import_boundaries", {"STORE": str(tmp_path / "s.gpkg"), "LAYER": layer,
                                    "LEVEL": 3, "CRS": "EPSG:27700"})
    assert (out["READ"], out["IMPORTED"], out["SKIPPED"]) == (33, 33, 0)
    from spatial_core import open_store

    with open_store(tmp_path / "s.gpkg") as store:
        wards = store.read("areas", order_by=["code"])
    assert wards["code"].tolist() == [f"E0500{n}" for n in range(1411, 1444)]
    assert wards["name"].iloc[0] == "Adel and Wharfedale"


@pytest.mark.real_data
def test_crimes_from_a_delimited_text_layer_import_like_the_file(run, real, tmp_path):
    from qgis.core import QgsVectorLayer

    path = real / "leeds/crime/2016-07-west-yorkshire-street.csv"
    uri = (f"file://{path}?type=csv&delimiter=,&xField=Longitude&yField=Latitude"
           "&crs=EPSG:4326&detectTypes=no&geomType=point")
    layer = QgsVectorLayer(uri, "July 2016 crimes", "delimitedtext")
    assert layer.isValid()
    by_layer = run("import_crimes", {"STORE": str(tmp_path / "a.gpkg"), "LAYER": layer})
    by_file = run("import_crimes", {"STORE": str(tmp_path / "b.gpkg"), "FILES": [str(path)]})
    assert by_layer["READ"] == by_file["READ"] == 27176
    assert (by_layer["IMPORTED"], by_layer["SKIPPED"]) == (by_file["IMPORTED"], by_file["SKIPPED"])


def test_frame_to_layer_writes_a_styled_layer(qgis_app):
    import geopandas as gpd
    import shapely
    from qgis.core import QgsGraduatedSymbolRenderer

    from qgis_plugin.convert import frame_to_layer

    frame = gpd.GeoDataFrame(
        {"name": ["A Street", "B Road", "C Lane"], "score": [0.1, 0.5, 0.9]},
        geometry=[shapely.LineString([(0, i), (10, i)]) for i in range(3)], crs=27700)
    layer = frame_to_layer(frame, "Scored streets", style="streets_by_score")
    assert layer.featureCount() == 3 and layer.crs().authid() == "EPSG:27700"
    renderer = layer.renderer()
    assert isinstance(renderer, QgsGraduatedSymbolRenderer) and renderer.classAttribute() == "score"
    assert len(renderer.ranges()) >= 2
