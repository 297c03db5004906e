// Runs the calls of a plan in headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) through
// puppeteer-core, one after the other in one browser, and writes what each call's getStats() said.
// The checks are the C++ test's (tests/turn/chromium_turn_test.cpp); this only drives and records.
//
//   node drive.js PLAN.json RESULT.json
//   PLAN:   { "calls": [ { "name", "turnUrl", "username", "credential", "mediaMs", "timeoutMs" } ] }
//   RESULT: { "browser": "...", "calls": [ { "name", ...callThroughTurn's result } ] }
// Exit: 0 when every call ran (its outcome is in RESULT), 2 when the browser could not be driven,
// 3 when the calls did not finish within WATCHDOG_MS (the browser is killed).
'use strict';
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

const WATCHDOG_MS = 90000;

async function main() {
  const [planPath, resultPath] = process.argv.slice(2);
  const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',                            // root, as in CI
      '--allow-loopback-in-peer-connection',     // the namespace has only lo: keep its addresses
      '--use-fake-device-for-media-stream',      // synthetic camera and microphone
      '--use-fake-ui-for-media-stream',          // no permission prompt
      '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
    timeout: 60000,                              // browser start-up, on a loaded machine
    protocolTimeout: 90000,
  });
  // Chromium runs in a process group of its own, out of reach of the test's `timeout`: if a call
  // hangs, end the browser here, before that timeout (100 s) ends this process.
  const watchdog = setTimeout(() => {
    console.error('drive.js: still running after ' + WATCHDOG_MS + ' ms: killing the browser');
    const pid = browser.process().pid;
    try { process.kill(-pid, 'SIGKILL'); } catch (e) { browser.process().kill('SIGKILL'); }  // its group: pgid == pid
    process.exit(3);
  }, WATCHDOG_MS);
  const result = { browser: await browser.version(), calls: [] };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    page.on('pageerror', (e) => console.log('[page error]', String(e)));
    await page.goto('file://' + path.join(__dirname, 'page.html'), { waitUntil: 'load' });
    for (const call of plan.calls) {
      const r = await page.evaluate((cfg) => callThroughTurn(cfg), call);
      console.log(`${call.name}: ok=${r.ok} connectMs=${r.connectMs} ${r.error || ''}`);
      result.calls.push({ name: call.name, ...r });
    }
  } finally {
    await browser.close();
    clearTimeout(watchdog);
  }
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 1));
}

main().catch((e) => {
  console.error('drive.js:', e);
  process.exit(2);
});
