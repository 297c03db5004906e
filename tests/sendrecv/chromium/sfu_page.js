// Headless Chromium on tern-sfu's live page (tests/sendrecv/tern_sfu_test.cpp): loads PAGE_URL
// (GET / of a running tern-sfu with a publisher in SESSION, "<worker>/<id>": session ids are per
// worker and the page keys sessions so), keeps every /stats response the page fetched, waits until
// the page has plotted at least two bitrate-in points of that session with the latest > 0 and a
// frame rate > 0, and reports the plotted value next to the one the same two /stats responses give
// (over the time between its worker's two samples).
// Usage: node sfu_page.js RESULT_JSON PAGE_URL SESSION [WAIT_MS]
// RESULT_JSON: {ok, error, browser, points, plotted, fromStats, t, fps, rtt, polls, noExternal, wallMs}.
// Exit 0 when the page plotted what was asked within WAIT_MS (default 6000).
const fs = require('fs');
const puppeteer = require('puppeteer-core');

(async () => {
  const t0 = Date.now();
  const [resultPath, pageUrl, session] = [process.argv[2], process.argv[3], String(process.argv[4])];
  const waitMs = Number(process.argv[5] || 6000);
  const result = { ok: false };
  let browser = null;
  try {
    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 30000,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu'],
    });
    result.browser = await browser.version();
    const page = await browser.newPage();
    const bodies = [];  // every /stats document the page got, in order
    const origin = new URL(pageUrl).origin;
    result.noExternal = true;
    page.on('request', (q) => { if (!q.url().startsWith(origin)) result.noExternal = false; });
    page.on('response', (r) => {  // kept in the order they came, read later
      if (r.url().endsWith('/stats')) bodies.push(r.text().then((b) => JSON.parse(b)).catch(() => null));
    });
    await page.goto(pageUrl, { waitUntil: 'load', timeout: 10000 });
    const selector = `svg[data-key="${session}"][data-series="bitrateIn"]`;
    // Its frame rate too: on a loaded machine the first polls can come before the publisher's
    // first video frame (29 kbps of audio plotted, 0 fps, seen beside three busy loops).
    await page.waitForFunction((sel, fpsSel) => {
      const e = document.querySelector(sel), f = document.querySelector(fpsSel);
      return e && f && Number(e.dataset.points) >= 2 && Number(e.dataset.latest) > 0 && Number(f.dataset.latest) > 0;
    }, { timeout: waitMs, polling: 50 }, selector, `svg[data-key="${session}"][data-series="fps"]`);
    const read = (series) => page.$eval(`svg[data-key="${session}"][data-series="${series}"]`,
      (e) => ({ latest: e.dataset.latest === undefined ? null : Number(e.dataset.latest), t: Number(e.dataset.t),
        points: Number(e.dataset.points || 0), drawn: e.querySelector('polyline').getAttribute('points').split(' ').length }));
    const bitrate = await read('bitrateIn');
    result.plotted = bitrate.latest;
    result.t = bitrate.t;
    result.points = bitrate.points;
    result.drawnPoints = bitrate.drawn;
    result.fps = (await read('fps')).latest;
    result.rtt = (await read('rtt')).latest;
    result.polls = await page.evaluate(() => Number(document.body.dataset.polls));
    result.text = await page.$eval(selector,
      (e) => e.parentElement.querySelector('.value').textContent);
    // The same point from the /stats documents the page plotted it from.
    const docs = (await Promise.all(bodies)).filter((d) => d);
    const entry = (doc) => (doc.sessions || []).find((s) => `${s.worker ?? 0}/${s.id}` === session);
    const time = (doc) => {  // when the session's worker took its figures
      const w = (doc.workers || []).find((e) => e.worker === entry(doc).worker);
      return w && w.timestamp !== undefined ? w.timestamp : doc.timestamp;
    };
    const i = docs.findIndex((d) => entry(d) && time(d) === bitrate.t);
    if (i > 0) {
      const [prev, cur] = [entry(docs[i - 1]), entry(docs[i])];
      if (prev) {
        result.fromStats = (cur.bytesReceived - prev.bytesReceived) * 8 / (time(docs[i]) - time(docs[i - 1]));
        result.bytesReceived = cur.bytesReceived;
      }
    }
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack || e);
  }
  if (browser) await browser.close().catch(() => {});
  result.wallMs = Date.now() - t0;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  process.exit(result.ok ? 0 : 1);
})();
