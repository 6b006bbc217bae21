#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A screenshot of QGIS desktop under Xvfb with the plugin's layers loaded from a demo store.
#
#   bash scripts/qgis_screenshot.sh [OUT.png]      (default out/qgis-screenshot.png)
#
# Builds a small demo force (LPT_SCREENSHOT_HOUSEHOLDS households, default 20000), builds the
# plugin zip and unpacks it into a fresh QGIS profile, enables it, starts `qgis` under
# xvfb-run with a start-up script that runs "lpt:load_store_layers", zooms to the town and
# saves the main window. The plugin's Python dependencies come from the project's .venv
# (PYTHONPATH), the developer's way; an analyst uses "Install Python dependencies" instead.
# Without the `qgis` desktop binary (Debian package qgis) it shows the same layers in a PyQGIS
# window (map canvas and layer tree) instead, and says so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
OUT=$(realpath -m "${1:-out/qgis-screenshot.png}")
mkdir -p "$(dirname "$OUT")"
WORK=$(mktemp -d /tmp/lpt-screenshot-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PY="$ROOT/.venv/bin/python"
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')

echo "demo store: $WORK/demo.gpkg"
"$PY" - "$WORK" "${LPT_SCREENSHOT_HOUSEHOLDS:-20000}" <<'EOF'
import sys
from spatial_core import open_store
from spatial_core.demo import build_demo
work, households = sys.argv[1], int(sys.argv[2])
with open_store(f"{work}/demo.gpkg") as store:
    build_demo(store, f"{work}/files", households=households, months=3)
EOF

"$ROOT/.venv/bin/lpt" plugin build -o "$WORK/dist" >/dev/null
PROFILES="$WORK/profiles"
PLUGINS="$PROFILES/profiles/default/python/plugins"
mkdir -p "$PLUGINS" "$PROFILES/profiles/default/QGIS"
unzip -q "$WORK"/dist/local_priority_targeting-*.zip -d "$PLUGINS"
cat > "$PROFILES/profiles/default/QGIS/QGIS3.ini" <<EOF
[PythonPlugins]
local_priority_targeting=true
processing=true

[local_priority_targeting]
store=$WORK/demo.gpkg

[qgis]
showTips=false
checkVersion=false
EOF

cat > "$WORK/startup.py" <<EOF
import os
from qgis.core import QgsApplication, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface

OUT = "$OUT"


def shoot():
    iface.mainWindow().grab().save(OUT)
    print("screenshot", OUT, flush=True)
    os._exit(0)  # QGIS 3.22 can abort while tearing down under Xvfb; the PNG is saved


def zoom():
    project = QgsProject.instance()
    root = project.layerTreeRoot()
    for name in ("Areas: oa", "Areas: lsoa", "Areas: npa", "Areas: force"):
        for layer in project.mapLayersByName(name):
            root.findLayer(layer.id()).setItemVisibilityChecked(False)
    iface.messageBar().clearWidgets()
    canvas = iface.mapCanvas()
    beats = project.mapLayersByName("Areas: beat")
    if beats:
        # the most populous corner of the demo force: the first beat's neighbourhood
        feature = next(beats[0].getFeatures())
        box = feature.geometry().boundingBox()
        box.scale(2.5)
        canvas.setExtent(box)
    canvas.refresh()
    QTimer.singleShot(8000, shoot)  # rendering of a few thousand points takes a moment


def load():
    import processing
    # areas, streets, households, crimes and members (indices in STORE_LAYERS)
    processing.runAndLoadResults("lpt:load_store_layers",
                                 {"STORE": "$WORK/demo.gpkg", "TABLES": [0, 1, 2, 4, 7]})
    QTimer.singleShot(2000, zoom)


iface.mainWindow().resize(1600, 1000)
QTimer.singleShot(3000, load)
EOF

export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
if command -v qgis >/dev/null; then
    timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" \
        qgis --profiles-path "$PROFILES" --profile default --nologo --noversioncheck \
             --code "$WORK/startup.py" || true
else
    echo "qgis desktop binary not found (apt-get install qgis): using a PyQGIS window" >&2
    cat > "$WORK/window.py" <<EOF
import sys
sys.path.append("/usr/share/qgis/python/plugins")
sys.path.insert(0, "$PLUGINS")
from qgis.core import QgsApplication, QgsProject, QgsLayerTreeModel, QgsRectangle
from qgis.gui import QgsMapCanvas, QgsLayerTreeMapCanvasBridge, QgsLayerTreeView
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QMainWindow, QDockWidget
app = QgsApplication([], True, "$PROFILES/profiles/default")
app.initQgis()
from processing.core.Processing import Processing
Processing.initialize()
import qgis.utils
qgis.utils.plugin_paths = ["$PLUGINS"]
qgis.utils.updateAvailablePlugins()
qgis.utils.loadPlugin("local_priority_targeting")
qgis.utils.startProcessingPlugin("local_priority_targeting")
import processing
project = QgsProject.instance()
for layer in processing.run("lpt:load_store_layers", {"STORE": "$WORK/demo.gpkg"})["OUTPUT"]:
    project.addMapLayer(layer)
win = QMainWindow(); win.setWindowTitle("QGIS 3.22 - Local priority targeting (demo)")
canvas = QgsMapCanvas(); win.setCentralWidget(canvas)
bridge = QgsLayerTreeMapCanvasBridge(project.layerTreeRoot(), canvas)
view = QgsLayerTreeView(); view.setModel(QgsLayerTreeModel(project.layerTreeRoot()))
dock = QDockWidget("Layers"); dock.setWidget(view); win.addDockWidget(Qt.LeftDockWidgetArea, dock)
canvas.setDestinationCrs(project.mapLayersByName("Streets")[0].crs())
c = project.mapLayersByName("Streets")[0].extent().center()
canvas.setExtent(QgsRectangle(c.x() - 1500, c.y() - 1000, c.x() + 1500, c.y() + 1000))
win.resize(1600, 1000); win.show(); canvas.refresh()
def shoot():
    win.grab().save("$OUT"); print("screenshot", "$OUT"); app.exit(0)
canvas.mapCanvasRefreshed.connect(lambda: QTimer.singleShot(1000, shoot))
QTimer.singleShot(30000, shoot)
app.exec_()
EOF
    timeout 180 xvfb-run -a -s "-screen 0 1600x1000x24" "$PY" "$WORK/window.py"
fi
test -s "$OUT" && echo "saved $OUT"
