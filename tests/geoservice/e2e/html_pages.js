// SPDX-License-Identifier: GPL-3.0-or-later
// Opens pygeoapi's own HTML pages (?f=html, Swagger UI) in Debian's headless Chromium
// (playwright-core, no downloaded browser), records every request, failed request, page
// error and console error of each page, counts the features its Leaflet map drew and the
// operations Swagger UI rendered, saves a screenshot per page and prints one JSON object.
//
// Environment: LPT_BASE_URL, LPT_PAGES (JSON list of {name, path, map?, swagger?}),
// LPT_SHOTS (screenshot folder), LPT_NODE_MODULES (folder holding playwright-core),
// LPT_CHROMIUM (default /usr/bin/chromium).
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const shots = env('LPT_SHOTS', 'test-artifacts/html-pages');
const pages = JSON.parse(env('LPT_PAGES', '[]'));

// A request stays with us when it goes to the service's host, or never leaves the page.
function leaves(url) {
  const u = new URL(url);
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return false;
  return u.hostname !== '127.0.0.1';
}

async function visit(context, spec) {
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  const rec = { name: spec.name, path: spec.path, requests: [], foreign: [], failed: [],
                page_errors: [], console_errors: [] };
  page.on('request', (r) => {
    rec.requests.push(r.url());
    if (leaves(r.url())) rec.foreign.push(r.url());
  });
  page.on('requestfailed', (r) => rec.failed.push(`${r.url()}: ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) rec.failed.push(`${r.url()}: HTTP ${r.status()}`); });
  page.on('pageerror', (e) => rec.page_errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') rec.console_errors.push(m.text()); });
  try {
    const resp = await page.goto(base + spec.path, { waitUntil: 'load' });
    rec.status = resp.status();
    rec.csp = (await resp.allHeaders())['content-security-policy'] || null;
    if (spec.map) {
      await page.waitForSelector(`#${spec.map} .leaflet-tile-loaded`, { state: 'attached' });
      await page.waitForFunction((id) => document.querySelectorAll(
        `#${id} path.leaflet-interactive, #${id} .leaflet-marker-icon, #${id} canvas`).length > 0,
      spec.map);
      rec.features = await page.$$eval(
        `#${spec.map} path.leaflet-interactive, #${spec.map} .leaflet-marker-icon`,
        (els) => els.length);
      rec.canvases = await page.$$eval(`#${spec.map} canvas`, (els) => els.length);
      rec.attribution = await page.textContent(`#${spec.map} .leaflet-control-attribution`);
      rec.tiles = await page.$$eval(`#${spec.map} img.leaflet-tile`,
        (imgs) => Array.from(new Set(imgs.map((i) => i.src.slice(0, 40)))));
    }
    if (spec.swagger) {
      await page.waitForSelector('.swagger-ui .opblock');
      // Swagger UI 5 renders a long document's tags as they scroll into view: count the
      // operations seen while scrolling to the end.
      const seen = new Set();
      for (let i = 0; i < 400; i++) {
        for (const id of await page.$$eval('.swagger-ui .opblock', (els) => els.map((e) => e.id))) seen.add(id);
        const end = await page.evaluate(() => {
          window.scrollBy(0, 600);
          return window.innerHeight + window.scrollY >= document.body.scrollHeight - 2;
        });
        if (end) break;
        await page.waitForTimeout(30);
      }
      rec.operations = seen.size;
      await page.evaluate(() => window.scrollTo(0, 0));
      rec.title = await page.textContent('.swagger-ui .info .title');
    }
    rec.stylesheets = await page.evaluate(() => Array.from(document.styleSheets)
      .map((s) => s.href).filter(Boolean));
    rec.bootstrap = await page.evaluate(() => getComputedStyle(document.body).fontFamily);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(shots, `${spec.name}.png`), fullPage: true });
    rec.ok = true;
  } catch (e) {
    rec.ok = false;
    rec.error = String(e && e.stack || e);
    try { await page.screenshot({ path: path.join(shots, `${spec.name}-error.png`) }); } catch (_) { /* ignore */ }
  }
  await page.close();
  return rec;
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const out = { pages: [] };
  try {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/London',
    });
    for (const spec of pages) out.pages.push(await visit(context, spec));
    out.ok = out.pages.every((p) => p.ok);
  } catch (e) {
    out.ok = false;
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  return out;
}

run(main);
