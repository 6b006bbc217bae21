// SPDX-License-Identifier: GPL-3.0-or-later
// Copy the browser files of our npm dependencies into static/vendor/ (gitignored), so the
// officer page and pygeoapi's own HTML pages are served entirely by the service: nothing is
// loaded from a CDN (geoservice/templates/, our copies of pygeoapi's templates, use them).
// Run by `npm ci` (postinstall) and `npm run vendor`.
'use strict';
const fs = require('fs');
const path = require('path');

const here = __dirname;
const out = path.join(here, 'static', 'vendor');
const copies = [
  // [package, file inside the package, target under static/vendor]
  ['leaflet', 'dist/leaflet.js', 'leaflet/leaflet.js'],
  ['leaflet', 'dist/leaflet.css', 'leaflet/leaflet.css'],
  ['leaflet', 'LICENSE', 'leaflet/LICENSE'],
  ['leaflet', 'dist/images/marker-icon.png', 'leaflet/images/marker-icon.png'],
  ['leaflet', 'dist/images/marker-icon-2x.png', 'leaflet/images/marker-icon-2x.png'],
  ['leaflet', 'dist/images/marker-shadow.png', 'leaflet/images/marker-shadow.png'],
  ['leaflet', 'dist/images/layers.png', 'leaflet/images/layers.png'],
  ['leaflet', 'dist/images/layers-2x.png', 'leaflet/images/layers-2x.png'],
  // pygeoapi's HTML pages (?f=html, /openapi?f=html): see geoservice/templates/
  ['bootstrap', 'dist/css/bootstrap.min.css', 'bootstrap/css/bootstrap.min.css'],
  ['bootstrap', 'LICENSE', 'bootstrap/LICENSE'],
  ['leaflet.markercluster', 'dist/MarkerCluster.css', 'leaflet.markercluster/MarkerCluster.css'],
  ['leaflet.markercluster', 'dist/MarkerCluster.Default.css',
    'leaflet.markercluster/MarkerCluster.Default.css'],
  ['leaflet.markercluster', 'dist/leaflet.markercluster-src.js',
    'leaflet.markercluster/leaflet.markercluster-src.js'],
  ['leaflet.markercluster', 'MIT-LICENCE.txt', 'leaflet.markercluster/MIT-LICENCE.txt'],
  ['leaflet.vectorgrid', 'dist/Leaflet.VectorGrid.bundled.js',
    'leaflet.vectorgrid/Leaflet.VectorGrid.bundled.js'],
  ['swagger-ui-dist', 'swagger-ui.css', 'swagger-ui-dist/swagger-ui.css'],
  ['swagger-ui-dist', 'swagger-ui-bundle.js', 'swagger-ui-dist/swagger-ui-bundle.js'],
  ['swagger-ui-dist', 'swagger-ui-standalone-preset.js',
    'swagger-ui-dist/swagger-ui-standalone-preset.js'],
  ['swagger-ui-dist', 'favicon-16x16.png', 'swagger-ui-dist/favicon-16x16.png'],
  ['swagger-ui-dist', 'favicon-32x32.png', 'swagger-ui-dist/favicon-32x32.png'],
  ['swagger-ui-dist', 'LICENSE', 'swagger-ui-dist/LICENSE'],
  ['swagger-ui-dist', 'NOTICE', 'swagger-ui-dist/NOTICE'],
];
const versions = {};
for (const [pkg, file, target] of copies) {
  const src = path.join(here, 'node_modules', pkg, file);
  if (!fs.existsSync(src)) {
    console.error(`vendor: ${src} is missing; run 'npm ci' in ${here}`);
    process.exit(1);
  }
  const dst = path.join(out, target);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.copyFileSync(src, dst);
  versions[pkg] = require(path.join(here, 'node_modules', pkg, 'package.json')).version;
}
fs.writeFileSync(path.join(out, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
console.log(`vendor: copied ${copies.length} files into ${path.relative(process.cwd(), out) || out}`);
