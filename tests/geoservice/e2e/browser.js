// SPDX-License-Identifier: GPL-3.0-or-later
// What every browser script of the tests shares: the environment, Debian's headless
// Chromium through playwright-core (never a downloaded browser), and printing the result
// as one JSON line (a crash prints {ok: false, error}).
//
// Environment: LPT_NODE_MODULES (folder holding playwright-core), LPT_CHROMIUM (default
// /usr/bin/chromium).
'use strict';
const path = require('path');

const env = (k, d) => process.env[k] || d;
const { chromium } = require(path.resolve(env('LPT_NODE_MODULES'), 'playwright-core'));

function launch() {
  return chromium.launch({
    executablePath: env('LPT_CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 60000,
  });
}

function run(main) {
  main()
    .then((out) => process.stdout.write(JSON.stringify(out) + '\n'))
    .catch((e) => { process.stdout.write(JSON.stringify({ ok: false, error: String(e) }) + '\n'); });
}

module.exports = { env, launch, run };
