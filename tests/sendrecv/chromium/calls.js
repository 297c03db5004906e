// Headless Chromium (launched once) in calls with tern-peer (tests/sendrecv/tern_peer_test.cpp):
//  1. "chromiumOffers": the page POSTs its offer to tern-peer's WHIP endpoint WHIP_URL (a running
//     tern-peer server) and applies the answer; mid-call it restarts ICE through the resource
//     (PATCH, If-Match: "*"; page.js restartWhip, its account in chromiumOffers.restart);
//  2. "ternOffers" (one call per "-- N COMMAND..." group, in order): this driver runs the tern-peer
//     client COMMAND, whose WHIP POST comes to this driver's own endpoint
//     (http://127.0.0.1:8080/whip, the server of the page): the offer goes to the page, which
//     answers; the answer goes back as the 201's body. Once the page has its stats the client gets
//     SIGINT (it DELETEs the resource, writes its stats and exits).
// In each call the page sends numbered messages (MESSAGES in call 1, N in the others; every 200th
// one 256 KiB) on the data channel and counts the in-order echoes, holds the call CALL_MS after
// connecting and reads getStats (page.js); then tern stops (DELETE, or SIGINT to the client) and the
// page reads its inbound stats once more, kSettleMs later (tern's counts froze when it stopped).
// Usage: node calls.js RESULT_JSON CALL_MS MESSAGES WHIP_URL [-- N TERN_PEER_CLIENT ARGS...]...
// RESULT_JSON: {browser, ok, error, chromiumOffers: {...}, ternOffers: [{..., ternExit, deleteSeen}],
// wallMs}. Exit 0 when every call ran to the end.
const http = require('http');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const puppeteer = require('puppeteer-core');

// After tern stopped sending: time for Chromium to decode what was in flight before its inbound stats.
const kSettleMs = 400;
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout: ' + what)), ms))]);

(async () => {
  const t0 = Date.now();
  const [resultPath, callMs, messages, whipUrl] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  const clients = [];  // [{messages, command: [...]}]
  for (const a of process.argv.slice(6)) {
    if (a === '--') clients.push({ messages: null, command: [] });
    else if (clients.length && clients[clients.length - 1].messages === null) clients[clients.length - 1].messages = Number(a);
    else if (clients.length) clients[clients.length - 1].command.push(a);
  }
  const result = { ok: false };
  const html = '<html><script>' + fs.readFileSync(path.join(__dirname, 'page.js')) + '</script></html>';
  let page = null;
  let offerSeen, deleteSeen = false;
  const server = http.createServer((q, res) => {
    let body = '';
    q.on('data', (d) => { body += d; });
    q.on('end', async () => {
      if (q.method === 'POST' && q.url === '/whip') {
        try {
          const answer = await page.evaluate((o) => answerCall(o), body);
          res.writeHead(201, { 'Content-Type': 'application/sdp', Location: '/whip/call' });
          res.end(answer);
        } catch (e) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(String(e));
        }
        offerSeen();
      } else if (q.method === 'DELETE' && q.url === '/whip/call') {
        deleteSeen = true;
        res.writeHead(200);
        res.end();
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(html);
      }
    });
  });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 60000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--no-first-run'],
  });
  let child = null;
  try {
    result.browser = await browser.version();
    page = await browser.newPage();
    await page.goto('http://127.0.0.1:8080/');
    // 1. Chromium offers.
    await page.evaluate((u) => offerCall(u), whipUrl);
    await page.evaluate((ms, n) => exercise(ms, n, false, true), callMs, messages);
    result.chromiumOffers = await page.evaluate((ms) => hangUp(ms), kSettleMs);
    // 2. tern offers.
    result.ternOffers = [];
    for (const c of clients) {
      deleteSeen = false;
      const offered = new Promise((f) => { offerSeen = f; });
      child = spawn(c.command[0], c.command.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
      const exited = new Promise((f) => child.on('exit', (code, signal) => f(code === null ? 'signal ' + signal : code)));
      await withTimeout(offered, 10000, "tern-peer's offer");
      const lossy = c.command.includes('--loss');
      await page.evaluate((ms, n, l) => exercise(ms, n, l, false), callMs, c.messages, lossy);
      child.kill('SIGINT');
      const ternExit = await withTimeout(exited, 8000, 'tern-peer client exit');
      child = null;
      const r = await page.evaluate((ms) => hangUp(ms), kSettleMs);
      result.ternOffers.push(r);
      r.ternExit = ternExit;
      r.deleteSeen = deleteSeen;
    }
    result.ok = true;
  } catch (e) {
    result.error = String(e);
  }
  if (child) child.kill('SIGKILL');
  result.wallMs = Date.now() - t0;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
