// SPDX-License-Identifier: GPL-3.0-or-later
// Drives the officer page's Progress tab in Debian's headless Chromium (playwright-core):
// signs in as a demo supervisor, reads the recommended actions under the streets (the
// street_scores answer is given action properties on two streets here, so both the shown
// and the absent case are seen), opens Progress and reads the headline, set-ups with their
// bars, beats behind, and the per officer and per day tables; then signs in as a beat
// officer, who has no Progress tab. Prints one JSON object.
//
// Environment: LPT_BASE_URL, LPT_SUPERVISOR, LPT_OFFICER (demo user subs), LPT_SHOTS,
// LPT_NODE_MODULES, LPT_CHROMIUM.
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const shots = env('LPT_SHOTS', 'test-artifacts');

async function signIn(browser, sub, out) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'en-GB', timezoneId: 'Europe/London',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('request', (r) => {
    if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) out.foreign.push(r.url());
  });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
  // Two streets carry a recommended action (one with its reason); the others none.
  await page.route('**/collections/street_scores/items**', async (route) => {
    const resp = await route.fetch();
    const body = await resp.json();
    (body.features || []).forEach((f, i) => {
      delete f.properties.action; delete f.properties.action_reason; delete f.properties.action_label;
      if (i === 0) { f.properties.action = 'door_knock'; f.properties.action_reason = 'households of under-represented groups without a member'; }
      if (i === 1) f.properties.action = 'visible_patrol';
    });
    await route.fulfill({ response: resp, json: body });
  });
  await page.goto(base + '/app/');
  await page.waitForSelector('#signin-demo:not([hidden])');
  await page.selectOption('#demo-user', sub);
  await page.click('#signin-demo button[type=submit]');
  await page.waitForSelector('body[data-loaded="1"]');
  return page;
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const out = { foreign: [], page_errors: [] };
  try {
    const page = await signIn(browser, env('LPT_SUPERVISOR'), out);
    out.streets = await page.$$eval('#street-list li[data-street-id]', (ls) => ls.map((l) => l.dataset.streetId));
    out.actions = await page.$$eval('#street-list li[data-street-id]', (ls) => ls.map((l) => {
      const a = l.querySelector('.action');
      return a ? a.textContent : null;
    }));
    out.progress_tab_hidden = await page.$eval('.tabs button[data-tab=progress]', (b) => b.hidden);
    await page.click('.tabs button[data-tab=progress]');
    await page.waitForSelector('#progress-setups[data-count]');
    out.headline = await page.textContent('#progress-headline');
    out.headline_households = await page.getAttribute('#progress-headline', 'data-households');
    out.rule = await page.textContent('#progress-rule');
    out.setups = await page.$$eval('#progress-setups li[data-setup-id]', (ls) => ls.map((l) => ({
      id: l.dataset.setupId, behind: l.classList.contains('behind'), text: l.textContent,
      bars: Array.from(l.querySelectorAll('.measure')).map((m) => ({
        measure: m.dataset.measure,
        now: Number(m.querySelector('[role=progressbar]').getAttribute('aria-valuenow')),
        label: m.querySelector('.reasons').textContent,
      })),
    })));
    out.behind = await page.$$eval('#progress-behind li[data-beat-id]', (ls) => ls.map((l) => [l.dataset.setupId, l.dataset.beatId]));
    out.officers = Number(await page.getAttribute('#progress-officers', 'data-count'));
    out.officer_names = await page.$$eval('#progress-officers tbody tr', (rs) => rs.map((r) => r.children[1].textContent));
    out.days = Number(await page.getAttribute('#progress-days', 'data-count'));
    out.message = await page.textContent('#progress-message');
    await page.screenshot({ path: path.join(shots, 'progress-01.png'), fullPage: true });

    const officer = await signIn(browser, env('LPT_OFFICER'), out);
    out.officer_progress_hidden = await officer.$eval('.tabs button[data-tab=progress]', (b) => b.hidden);
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
