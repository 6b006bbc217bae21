// SPDX-License-Identifier: GPL-3.0-or-later
// The engagement loop in Debian's headless Chromium (playwright-core, no downloaded browser),
// in two phases the test runs around its SMTP server:
//
// LPT_PHASE=send   the officer signs in, records an action, drafts "You said, we did" from
//                  it, previews the reach to their beat and sends the message;
// LPT_PHASE=reply  a resident opens LPT_REPLY_URL (the link from the e-mail the SMTP server
//                  received) on a phone and replies; the officer signs in, sees the reply
//                  and answers it; then records a visit with a door survey and a
//                  registration.
//
// Prints one JSON object. Environment: LPT_BASE_URL, LPT_OFFICER, LPT_UPRN, LPT_REPLY_URL,
// LPT_REPLY_TEXT, LPT_SHOTS, LPT_NODE_MODULES, LPT_CHROMIUM.
'use strict';
const path = require('path');
const fs = require('fs');

const { env, launch, run } = require('./browser');
const base = env('LPT_BASE_URL');
const shots = env('LPT_SHOTS', 'test-artifacts');

function watch(page, out) {
  page.setDefaultTimeout(60000); // a shared 2-core machine: the first area profile takes seconds
  page.on('request', (r) => {
    out.requests.push(r.url());
    if (!r.url().startsWith(base + '/') && !r.url().startsWith('data:')) out.foreign.push(r.url());
  });
  page.on('console', (m) => { if (m.type() === 'error') out.console_errors.push(m.text()); });
  page.on('pageerror', (e) => out.page_errors.push(String(e)));
}

async function phone(browser) {
  return browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    isMobile: true, hasTouch: true, locale: 'en-GB', timezoneId: 'Europe/London' });
}

async function signIn(browser, out) {
  const context = await phone(browser);
  const page = await context.newPage();
  watch(page, out);
  await page.goto(base + '/app/');
  await page.waitForSelector('#signin-demo:not([hidden])');
  await page.selectOption('#demo-user', env('LPT_OFFICER'));
  await page.click('#signin-demo button[type=submit]');
  await page.waitForSelector('body[data-loaded="1"]');
  await page.click('.tabs button[data-tab=messages]');
  await page.waitForSelector('#tab-messages:not([hidden])');
  return page;
}

async function send(browser, out) {
  const page = await signIn(browser, out);
  // An action in the log, then the "You said, we did" draft that quotes it.
  await page.selectOption('#action-priority', 'road_safety');
  await page.fill('#action-what', 'Speed checks on Mill Lane, 14 drivers stopped (browser test)');
  await page.click('#action-form button[type=submit]');
  await page.waitForSelector('#action-result.ok');
  out.action_id = await page.getAttribute('#action-result', 'data-action-id');
  await page.waitForSelector(`#action-list li[data-action-id="${out.action_id}"]`);
  out.action_listed = await page.textContent(`#action-list li[data-action-id="${out.action_id}"]`);

  await page.selectOption('#msg-kind', 'you_said_we_did');
  await page.waitForSelector('#msg-draft:not([hidden])');
  await page.click('#msg-draft');
  await page.waitForSelector('#msg-result.ok');
  out.subject = await page.inputValue('#msg-subject');
  out.text = await page.inputValue('#msg-text');
  await page.screenshot({ path: path.join(shots, '01-draft.png') });

  await page.click('#msg-form button[type=submit]');
  await page.waitForSelector('#msg-preview:not([hidden])');
  out.message_id = await page.getAttribute('#msg-preview', 'data-message-id');
  out.recipients = Number(await page.getAttribute('#msg-preview', 'data-recipients'));
  out.reach = await page.textContent('#msg-reach');
  out.held = await page.$$eval('#msg-held li[data-reason]', (ls) => ls.map((l) => [l.dataset.reason, l.textContent]));
  await page.screenshot({ path: path.join(shots, '02-preview.png') });
  await page.click('#msg-send');
  await page.waitForSelector('#msg-result.ok[data-sent]');
  out.sent = Number(await page.getAttribute('#msg-result', 'data-sent'));
  out.sent_text = await page.textContent('#msg-result');
  await page.screenshot({ path: path.join(shots, '03-sent.png') });
}

async function reply(browser, out) {
  // The resident, on a phone, through the link in the e-mail: no sign-in.
  const context = await phone(browser);
  const page = await context.newPage();
  watch(page, out);
  const resp = await page.goto(env('LPT_REPLY_URL'));
  out.reply_page_status = resp.status();
  out.reply_page_text = await page.textContent('main');
  out.reply_page_width = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.fill('#reply-text', env('LPT_REPLY_TEXT'));
  out.counter = await page.textContent('#reply-count');
  await page.screenshot({ path: path.join(shots, '04-reply-form.png') });
  await page.click('#reply-form button[type=submit]');
  await page.waitForSelector('#done');
  out.reply_done = await page.textContent('#done');
  await page.screenshot({ path: path.join(shots, '05-reply-sent.png') });
  await context.close();

  // The officer sees it and answers it.
  const officer = await signIn(browser, out);
  await officer.waitForSelector('#reply-list li[data-reply-id]');
  out.replies = await officer.$$eval('#reply-list li[data-reply-id]', (ls) => ls.map((l) => ({
    id: l.dataset.replyId, urgent: l.classList.contains('urgent'), text: l.querySelector('.text').textContent })));
  const mine = out.replies.find((r) => r.text === env('LPT_REPLY_TEXT'));
  if (mine) {
    const li = `#reply-list li[data-reply-id="${mine.id}"]`;
    await officer.fill(`${li} textarea`, 'Thank you: we will be back on Mill Lane next week.');
    await officer.click(`${li} button[type=submit]`);
    await officer.waitForSelector(`${li} .answer`);
    out.answer_shown = await officer.textContent(`${li} .answer`);
  }
  await officer.screenshot({ path: path.join(shots, '06-replies.png'), fullPage: true });

  // At the door: a visit with the survey and a registration with consent.
  await officer.click('.tabs button[data-tab=visit]');
  await officer.fill('#visit-uprn', env('LPT_UPRN'));
  await officer.selectOption('#visit-outcome', 'surveyed');
  await officer.check('#door-survey-on');
  await officer.check('#door-survey input[name="door-priorities"][value="road_safety"]');
  await officer.check('#door-survey input[name="door-priorities"][value="asb"]');
  await officer.check('#door-survey input[name="door-confidence"][value="4"]');
  await officer.check('#door-survey input[name="door-feel_safe"][value="3"]');
  await officer.selectOption('#door-age_band', '35-44');
  await officer.check('#door-register-on');
  // Without the resident's answer to the consent statement nothing is sent.
  await officer.click('#visit-form button[type=submit]');
  out.consent_required = await officer.evaluate(() => !document.getElementById('reg-consent').checkValidity());
  await officer.selectOption('#reg-consent', 'agreed');
  await officer.fill('#reg-email', 'door.resident@example.invalid');
  await officer.click('#visit-form button[type=submit]');
  await officer.waitForSelector('#visit-result.ok[data-response-id], #visit-result.error');
  out.visit_message = await officer.textContent('#visit-result');
  if (!(await officer.$('#visit-result.ok[data-response-id]'))) throw new Error(`door survey: ${out.visit_message}`);
  out.visit_id = await officer.getAttribute('#visit-result', 'data-visit-id');
  out.response_id = await officer.getAttribute('#visit-result', 'data-response-id');
  out.visit_message = await officer.textContent('#visit-result');
  await officer.screenshot({ path: path.join(shots, '07-door-survey.png'), fullPage: true });
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await launch();
  const out = { requests: [], foreign: [], console_errors: [], page_errors: [] };
  try {
    if (env('LPT_PHASE') === 'send') await send(browser, out);
    else await reply(browser, out);
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
