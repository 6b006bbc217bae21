// SPDX-License-Identifier: GPL-3.0-or-later
// Drives the officer page's Beat tab analyses (confidence and feeling safe, what changed, the
// key individual network, priorities by channel) in Debian's headless Chromium
// (playwright-core), on a phone-sized screen:
//   1. a beat officer: their beat's figures;
//   2. a supervisor: the first beat's figures, then their npa's (the "Figures for" choice);
//   3. a partner (demo user added by the test), signed in on the supervisor's page after
//      they sign out: a beat whose small counts are withheld;
//   4. a supervisor whose answers for LPT_EMPTY_BEAT are rewritten to hold no row (every
//      collection empty, the process without the beat's rows), then their npa with
//      area_change answering 500 and no priorities-by-group process: the empty, error and
//      "not published" messages.
// Prints one JSON object: per run, each section's state and facts (data attributes and text).
//
// Environment: LPT_BASE_URL, LPT_OFFICER, LPT_SUPERVISOR, LPT_PARTNER (demo user subs),
// LPT_PARTNER_BEAT, LPT_EMPTY_BEAT, LPT_SHOTS, LPT_NODE_MODULES, LPT_CHROMIUM.
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const shots = env('LPT_SHOTS', 'test-artifacts');
const SECTIONS = ['an-confidence', 'an-change', 'an-network', 'an-channels'];

async function signIn(browser, sub, out, routes) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'en-GB', timezoneId: 'Europe/London',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(120000);
  page.on('request', (r) => {
    if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) out.foreign.push(r.url());
  });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
  if (routes) await routes(page);
  await page.goto(base + '/app/');
  await page.waitForSelector('#signin-demo:not([hidden])');
  await page.selectOption('#demo-user', sub);
  await page.click('#signin-demo button[type=submit]');
  await page.waitForSelector('body[data-loaded="1"]');
  await page.click('.tabs button[data-tab=beat]');
  return page;
}

async function read(page, area) {
  await page.waitForSelector(`#analyses[data-loaded="${area}"]`);
  const got = { area };
  got.disclosure = await page.$eval('#analyses-disclosure', (n) => (n.hidden ? '' : n.textContent));
  for (const id of SECTIONS) {
    got[id] = await page.$eval('#' + id, (node) => {
      const note = node.querySelector(':scope > p[data-state]');
      return {
        state: note ? note.dataset.state : 'shown',
        note: note ? note.textContent : null,
        text: node.textContent,
        facts: Array.from(node.querySelectorAll('[data-fact]')).map((e) => ({
          data: Object.assign({}, e.dataset), text: e.textContent,
          head: e.firstElementChild ? e.firstElementChild.textContent : e.textContent,
          gap: e.classList.contains('gap'),
        })),
      };
    });
  }
  return got;
}

async function chooseArea(page, area) {
  await page.selectOption('#analyses-area', area);
  return read(page, area);
}

// The supervisor's answers rewritten so that one beat has no row anywhere; area_change for
// an npa answers 500 and the process for an npa 404 (as a service without it would).
async function emptyRoutes(page) {
  const beat = env('LPT_EMPTY_BEAT');
  const empty = { type: 'FeatureCollection', features: [], numberMatched: 0, numberReturned: 0, links: [] };
  for (const c of ['area_confidence', 'area_change', 'network_gaps', 'network_groups']) {
    await page.route(`**/collections/${c}/items?**`, async (route) => {
      const q = new URL(route.request().url()).searchParams;
      if (q.get('area_id') === beat) return route.fulfill({ status: 200, json: empty });
      if (c === 'area_change' && String(q.get('area_id')).startsWith('npa:')) {
        return route.fulfill({ status: 500, json: { code: 'x', description: 'the test broke it' } });
      }
      return route.continue();
    });
  }
  await page.route('**/processes/priorities-by-group/execution', async (route) => {
    if (JSON.parse(route.request().postData() || '{}').inputs.level === 'npa') {
      return route.fulfill({ status: 404, json: { code: 'NoSuchProcess', description: 'not here' } });
    }
    const resp = await route.fetch();
    const body = await resp.json();
    for (const k of ['people', 'priorities', 'scores']) body[k] = (body[k] || []).filter((r) => r.area_id !== beat);
    await route.fulfill({ response: resp, json: body });
  });
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const out = { foreign: [], page_errors: [] };
  try {
    const officer = await signIn(browser, env('LPT_OFFICER'), out);
    const beat = await officer.$eval('#beat-select', (s) => s.value);
    out.officer = await read(officer, beat);
    out.officer.options = await officer.$$eval('#analyses-area option', (os) => os.map((o) => o.value));
    out.officer.bar_hidden = await officer.$eval('#analyses-area-bar', (n) => n.hidden);
    await officer.screenshot({ path: path.join(shots, 'beat-analyses-officer.png'), fullPage: true });

    const sup = await signIn(browser, env('LPT_SUPERVISOR'), out);
    const first = await sup.$eval('#beat-select', (s) => s.value);
    out.supervisor_beat = await read(sup, first);
    const options = await sup.$$eval('#analyses-area option', (os) => os.map((o) => ({ value: o.value, level: o.dataset.level, text: o.textContent })));
    out.supervisor_options = options;
    const npa = options.find((o) => o.level === 'npa');
    out.supervisor_npa = npa ? await chooseArea(sup, npa.value) : null;
    await sup.screenshot({ path: path.join(shots, 'beat-analyses-supervisor-npa.png'), fullPage: true });

    // The partner signs in on the supervisor's page after they sign out: nothing the
    // supervisor was shown (the channels answer is kept a while) may be reused.
    await sup.click('#signout');
    await sup.waitForSelector('#signin-demo:not([hidden])');
    await sup.evaluate(() => { delete document.body.dataset.loaded; });
    await sup.selectOption('#demo-user', env('LPT_PARTNER'));
    await sup.click('#signin-demo button[type=submit]');
    await sup.waitForSelector('body[data-loaded="1"]');
    await sup.click('.tabs button[data-tab=beat]');
    const partner = sup;
    await partner.selectOption('#beat-select', env('LPT_PARTNER_BEAT'));
    out.partner = await read(partner, env('LPT_PARTNER_BEAT'));
    out.partner.streets = await partner.textContent('#score-source');
    await partner.screenshot({ path: path.join(shots, 'beat-analyses-partner.png'), fullPage: true });

    const broken = await signIn(browser, env('LPT_SUPERVISOR'), out, emptyRoutes);
    await broken.selectOption('#beat-select', env('LPT_EMPTY_BEAT'));
    out.empty = await read(broken, env('LPT_EMPTY_BEAT'));
    out.error = npa ? await chooseArea(broken, npa.value) : null;
    await broken.screenshot({ path: path.join(shots, 'beat-analyses-empty.png'), fullPage: true });
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.error_text = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  return out;
}

run(main);
