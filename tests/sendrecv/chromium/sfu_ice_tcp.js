// Headless Chromium through tern-sfu over ICE-TCP only (tests/sendrecv/tern_sfu_ice_tcp_chromium_test.cpp):
// tern-sfu runs with --tcp and --no-udp-candidates, so its answers offer the passive TCP candidate
// alone; one page publishes its fake camera and microphone by WHIP to SFU/whip/tcp and subscribes to the same room
// by WHEP; the driver waits for the first decoded frame, holds HOLD_MS, and records both peer
// connections' getStats (inbound/outbound video, the selected pairs' local candidate protocols).
// Usage: node sfu_ice_tcp.js RESULT_JSON SFU_BASE HOLD_MS
const http = require('http');
const fs = require('fs');
const puppeteer = require('puppeteer-core');
const { pageHtml } = require('./whip_lib.js');

function pageCode() {
  const { sleep, connected } = window.whip;  // whip_lib.js
  const pcs = {};
  async function post(pc, url) {
    const { answer } = await window.whip.post(pc, url);
    await connected(pc);
    return { answerHasTcp: answer.includes(' tcp '), answerHasUdp: answer.includes(' udp ') };
  }
  window.publish = async (url) => {
    const pc = new RTCPeerConnection();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    stream.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] }));
    pcs.pub = pc;
    return post(pc, url);
  };
  window.subscribe = async (url) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('audio', { direction: 'recvonly' });  // audio first: the header extension ids tern-sfu expects
    pc.addTransceiver('video', { direction: 'recvonly' });
    pcs.sub = pc;
    return post(pc, url);
  };
  window.stats = async () => {
    const out = {};
    for (const [role, pc] of Object.entries(pcs)) {
      const all = {};
      (await pc.getStats()).forEach((x) => { all[x.id] = x; });
      for (const x of Object.values(all)) {
        if (x.type === 'inbound-rtp' && x.kind === 'video') out.in_video = x;
        if (x.type === 'outbound-rtp' && x.kind === 'video') out.out_video = x;
        if (x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded') {
          const local = all[x.localCandidateId] || {};
          out[role + '_protocol'] = local.protocol;
          out[role + '_tcptype'] = local.tcpType;
        }
      }
    }
    return out;
  };
  window.firstFrame = async () => {
    for (let i = 0; i < 500; ++i) {
      const s = await window.stats();
      if (s.in_video && s.in_video.framesDecoded > 0) return s;
      await sleep(10);
    }
    throw new Error('no video frame decoded');
  };
}

(async () => {
  const t0 = Date.now();
  const [resultPath, sfu, holdArg] = process.argv.slice(2, 5);
  const result = { ok: false };
  const html = pageHtml(pageCode);
  const server = http.createServer((q, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise((r) => server.listen(8081, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 20000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--disable-gpu', '--no-first-run'],
  });
  try {
    result.browser = await browser.version();
    const page = await browser.newPage();
    await page.goto('http://127.0.0.1:8081/');
    result.publish = await page.evaluate((u) => publish(u), sfu + '/whip/tcp');
    result.subscribe = await page.evaluate((u) => subscribe(u), sfu + '/whep/tcp');
    result.first = await page.evaluate(() => firstFrame());
    await new Promise((f) => setTimeout(f, Number(holdArg)));
    result.end = await page.evaluate(() => stats());
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack ? e.stack : e);
  }
  result.wallMs = Date.now() - t0;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
