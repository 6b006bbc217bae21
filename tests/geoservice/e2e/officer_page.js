// SPDX-License-Identifier: GPL-3.0-or-later
// Drives the officer map page in Debian's headless Chromium (playwright-core, no downloaded
// browser): signs in as a demo beat officer, reads the streets listed and drawn, records a
// visit (and tries one outside the beat), saves screenshots and prints one JSON object.
//
// Environment: LPT_BASE_URL, LPT_OFFICER (demo user sub), LPT_UPRN (an address in the beat),
// LPT_UPRN_OUTSIDE (an address in another beat), LPT_SETUP (the set-up whose walk list to use), LPT_SHOTS (screenshot folder),
// LPT_NODE_MODULES (folder holding playwright-core), LPT_CHROMIUM (default /usr/bin/chromium).
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const shots = env('LPT_SHOTS', 'test-artifacts');

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const out = { requests: [], foreign: [], console_errors: [], page_errors: [] };
  try {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
      locale: 'en-GB', timezoneId: 'Europe/London',
    });
    const page = await context.newPage();
    page.setDefaultTimeout(30000);
    page.on('request', (r) => {
      out.requests.push(r.url());
      if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) out.foreign.push(r.url());
    });
    page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
    page.on('pageerror', (e) => out.page_errors.push(String(e)));

    await page.goto(base + '/app/');
    await page.waitForSelector('#signin-demo:not([hidden])');
    await page.selectOption('#demo-user', env('LPT_OFFICER'));
    await page.screenshot({ path: path.join(shots, '01-sign-in.png') });
    await page.click('#signin-demo button[type=submit]');

    await page.waitForSelector('body[data-loaded="1"]');
    out.who = await page.textContent('#who');
    out.beats = await page.$$eval('#beat-select option', (os) => os.map((o) => o.value));
    out.score_source = await page.textContent('#score-source');
    out.listed = await page.$$eval('#street-list li[data-street-id]', (ls) => ls.map((l) => l.dataset.streetId));
    out.drawn = await page.$$eval('path.lpt-street', (ps) => ps.length);
    out.drawn_ids = await page.evaluate(() => Array.from(window.lptState.streetById.keys()));
    out.attribution = await page.textContent('#attribution');
    await page.screenshot({ path: path.join(shots, '02-streets.png') });
    await page.screenshot({ path: path.join(shots, '02-streets-full.png'), fullPage: true });

    await page.click('.tabs button[data-tab=beat]');
    out.beat_text = await page.textContent('#tab-beat');
    await page.screenshot({ path: path.join(shots, '03-beat.png') });

    await page.click('.tabs button[data-tab=walk]');
    const setup = env('LPT_SETUP');
    if (setup) {
      await page.selectOption('#setup-select', setup);
      await page.waitForSelector(`#walk-list[data-setup="${setup}"]`);
    }
    out.setups = await page.$$eval('#setup-select option', (os) => os.map((o) => o.value));
    out.walk_text = await page.textContent('#tab-walk');
    out.walk_count = await page.$$eval('#walk-list li[data-uprn]', (ls) => ls.length);
    await page.screenshot({ path: path.join(shots, '04-walk-list.png') });

    // A visit outside the beat is refused (the service answers 404 for other beats' addresses).
    await page.click('.tabs button[data-tab=visit]');
    await page.fill('#visit-uprn', env('LPT_UPRN_OUTSIDE'));
    await page.selectOption('#visit-outcome', 'not_in');
    await page.click('#visit-form button[type=submit]');
    await page.waitForSelector('#visit-result.error');
    out.outside_message = await page.textContent('#visit-result');

    // The visit itself: from the walk list when there is one (UPRN and set-up filled in),
    // else typed.
    if (out.walk_count > 0) {
      await page.click('.tabs button[data-tab=walk]');
      out.walk_uprn = await page.getAttribute('#walk-list li[data-uprn]', 'data-uprn');
      await page.click('#walk-list li[data-uprn] button');
      await page.waitForSelector('#tab-visit:not([hidden])');
    } else {
      await page.fill('#visit-uprn', env('LPT_UPRN'));
    }
    out.visit_uprn = await page.inputValue('#visit-uprn');
    out.visit_setup = await page.inputValue('#visit-setup');
    await page.selectOption('#visit-outcome', 'spoke');
    await page.fill('#visit-notes', 'talked about parking (browser test)');
    await page.click('#visit-form button[type=submit]');
    await page.waitForSelector('#visit-result.ok');
    out.visit_message = await page.textContent('#visit-result');
    out.visit_id = await page.getAttribute('#visit-result', 'data-visit-id');
    out.visited_at = await page.inputValue('#visit-when');
    await page.screenshot({ path: path.join(shots, '05-visit-recorded.png') });
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  return out;
}

run(main);
