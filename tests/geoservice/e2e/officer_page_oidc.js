// SPDX-License-Identifier: GPL-3.0-or-later
// Drives the officer page's production sign-in (authorisation code + PKCE) in Debian's
// headless Chromium against a real OpenID Connect provider (oidc_provider.mjs): clicks
// "Sign in with your force account", fills in the provider's login and consent pages, and
// reads what the page shows when it comes back. Each scenario runs in a fresh browser
// context (no provider session, empty sessionStorage). Prints one JSON object keyed by
// scenario.
//
// Environment: LPT_BASE_URL (the service), LPT_ISSUER (the provider), LPT_SCENARIOS (JSON list
// of {name, login, tamper?: "state"|"iss"|"verifier", start_path?, visit?: true,
// signout?: true}),
// LPT_SHOTS (screenshot folder), LPT_NODE_MODULES (holding playwright-core), LPT_CHROMIUM.
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const issuer = env('LPT_ISSUER');
const shots = env('LPT_SHOTS', 'test-artifacts');

// Runs in the page before app.js: spoils the sign-in response the way an attacker would (a
// forged `state`, a response naming another issuer) or a lost tab (another PKCE verifier).
function tamperScript(mode, baseUrl) {
  return `(() => {
    if (location.origin !== ${JSON.stringify(new URL(baseUrl).origin)}) return;
    const q = new URLSearchParams(location.search);
    if (!q.has('code')) return;
    if (${JSON.stringify(mode)} === 'state') {
      q.set('state', 'forged-' + q.get('state'));
      history.replaceState(null, '', location.pathname + '?' + q);
    } else if (${JSON.stringify(mode)} === 'iss') {
      q.set('iss', 'https://login.attacker.invalid');
      history.replaceState(null, '', location.pathname + '?' + q);
    } else if (${JSON.stringify(mode)} === 'verifier') {
      const saved = JSON.parse(sessionStorage.getItem('lpt.pkce'));
      saved.verifier = 'x'.repeat(43) + saved.verifier.slice(43);
      sessionStorage.setItem('lpt.pkce', JSON.stringify(saved));
    }
  })();`;
}

async function providerLogin(page, login, out, shotPrefix) {
  await page.waitForURL((u) => u.href.startsWith(issuer + '/'));
  await page.waitForSelector('input[name=login]');
  out.login_page = page.url().replace(/\/interaction\/[^/?]+/, '/interaction/<uid>');
  if (shotPrefix) await page.screenshot({ path: path.join(shots, `${shotPrefix}-provider-login.png`) });
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password (development interactions)');
  await page.click('button[type=submit]');
  // Consent once per client and account (the provider remembers the grant afterwards).
  await page.waitForURL((u) => !u.href.startsWith(issuer + '/') || /\/interaction\//.test(u.pathname));
  if (page.url().startsWith(issuer + '/')) {
    await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
    if (shotPrefix) await page.screenshot({ path: path.join(shots, `${shotPrefix}-provider-consent.png`) });
    await page.click('button[type=submit]');
  }
  await page.waitForURL((u) => u.href.startsWith(base + '/'));
}

async function pageFacts(page) {
  return page.evaluate(() => ({
    url: location.href,
    token: sessionStorage.getItem('lpt.token'),
    id_token: sessionStorage.getItem('lpt.id_token'),
    pkce_left: sessionStorage.getItem('lpt.pkce'),
    signin_visible: !document.getElementById('signin').hidden,
    main_visible: !document.getElementById('main').hidden,
    signin_message: document.getElementById('signin-message').textContent,
    who: document.getElementById('who').hidden ? null : document.getElementById('who').textContent,
    walk_message: document.getElementById('walk-message').textContent,
  }));
}

async function scenario(browser, sc, out) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    locale: 'en-GB', timezoneId: 'Europe/London',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(30000);
  // No network here: anything but the service and the provider is refused (the provider's
  // development pages ask for a web font) and recorded when our page asked for it.
  await context.route((u) => !u.href.startsWith(base + '/') && !u.href.startsWith(issuer + '/'),
    (route) => {
      const frame = route.request().frame();
      if (frame && frame.url().startsWith(base + '/')) out.foreign.push(route.request().url());
      return route.abort();
    });
  page.on('request', (r) => {
    out.requests.push(r.url());
    if (r.url().startsWith(issuer + '/') && !r.isNavigationRequest()) out.provider_fetches.push(`${r.method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
  if (sc.tamper) await context.addInitScript(tamperScript(sc.tamper, base));
  const shot = (name) => page.screenshot({ path: path.join(shots, `${sc.name}-${name}.png`) });

  await page.goto(base + (sc.start_path || '/app/'));
  await page.waitForSelector('body[data-ready="1"]');
  await page.waitForSelector('#signin-oidc:not([hidden])');
  await shot('01-sign-in');
  await page.click('#oidc-start');
  await providerLogin(page, sc.login, out, sc.name + '-02');
  out.return_url = page.url().replace(/code=[^&]+/, 'code=<code>');
  await page.waitForSelector('body[data-ready="1"]');
  if (!sc.tamper && !sc.expect_failure) {
    await page.waitForSelector('body[data-loaded="1"], #signin:not([hidden])');
  }
  Object.assign(out, await pageFacts(page));
  out.provider_fetches_at_sign_in = [...out.provider_fetches];
  out.beats = await page.$$eval('#beat-select option', (os) => os.map((o) => o.value));
  out.listed = await page.$$eval('#street-list li[data-street-id]', (ls) => ls.map((l) => l.dataset.streetId));
  out.drawn = await page.$$eval('path.lpt-street', (ps) => ps.length);
  out.drawn_ids = await page.evaluate(() => Array.from(window.lptState.streetById.keys()));
  await shot('03-back-in-page');

  if (sc.visit) {
    await page.click('.tabs button[data-tab=walk]');
    await page.waitForSelector('#walk-list[data-setup]');
    // The shared store may hold other live set-ups of this beat: choose the test's own.
    if (sc.setup) {
      await page.selectOption('#setup-select', sc.setup);
      await page.waitForSelector(`#walk-list[data-setup="${sc.setup}"]`);
    }
    out.walk_count = await page.$$eval('#walk-list li[data-uprn]', (ls) => ls.length);
    out.walk_uprn = await page.getAttribute('#walk-list li[data-uprn]', 'data-uprn');
    await page.click('#walk-list li[data-uprn] button');
    await page.waitForSelector('#tab-visit:not([hidden])');
    out.visit_uprn = await page.inputValue('#visit-uprn');
    out.visit_setup = await page.inputValue('#visit-setup');
    await page.selectOption('#visit-outcome', 'spoke');
    await page.fill('#visit-notes', 'signed in at the force provider (browser test)');
    await page.click('#visit-form button[type=submit]');
    await page.waitForSelector('#visit-result.ok');
    out.visit_id = await page.getAttribute('#visit-result', 'data-visit-id');
    out.visit_purpose = await page.inputValue('#visit-purpose');
    await shot('04-visit-recorded');
  }

  if (sc.signout) {
    await page.click('#signout');
    // With an end_session_endpoint the page ends the session at the provider too; the
    // provider asks to confirm and sends the browser back to the page.
    await page.waitForURL((u) => u.href.startsWith(issuer + '/') || u.href.startsWith(base + '/'));
    if (page.url().startsWith(issuer + '/')) {
      out.signout_via = 'provider';
      await shot('05-provider-sign-out');
      await page.click('button[name=logout]');
      await page.waitForURL((u) => u.href.startsWith(base + '/'));
    } else {
      out.signout_via = 'page';
    }
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForSelector('#signin:not([hidden])');
    out.after_signout = await pageFacts(page);
    await shot('06-signed-out');
    // Signing in again must ask the provider for the password again (a shared device).
    await page.click('#oidc-start');
    await page.waitForURL((u) => /\/interaction\//.test(u.pathname) || u.href.startsWith(base + '/app/?'));
    out.resignin = /\/interaction\//.test(new URL(page.url()).pathname) &&
      (await page.$('input[name=login]')) ? 'provider-login' : 'silent';
    await shot('07-sign-in-again');
  }
  await context.close();
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const results = {};
  try {
    for (const sc of JSON.parse(env('LPT_SCENARIOS'))) {
      const out = { requests: [], foreign: [], provider_fetches: [], page_errors: [] };
      results[sc.name] = out;
      try {
        await scenario(browser, sc, out);
        out.ok = true;
      } catch (e) {
        out.ok = false;
        out.error = String(e && e.stack || e);
      }
    }
  } finally {
    await browser.close();
  }
  return results;
}

run(main);
