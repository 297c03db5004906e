// Headless Chromium as a WHIP client of tern-peer (tests/sendrecv/tern_peer_test.cpp).
// Usage: node whip_call.js WHIP_URL RESULT_JSON CALL_MS MESSAGES
// The page (served on 127.0.0.1:8080, so the POST is cross-origin: tern-peer's CORS) offers the fake
// camera + microphone and a data channel "chat", waits for ICE gathering (no trickle), POSTs the
// offer, applies tern's answer, sends MESSAGES numbered messages (every 10th one 16 KiB) and checks
// the echoes arrive in order, holds the call CALL_MS after connecting, reads getStats, DELETEs the
// session. RESULT_JSON: {browser, ok, error, connectMs, firstFrameMs, postStatus, deleteStatus,
// echoes, echoesInOrder, stats: {...}}. Exit 0 when the page ran to the end.
const http = require('http');
const fs = require('fs');
const puppeteer = require('puppeteer-core');

(async () => {
  const [url, resultPath, callMs, messages] = [process.argv[2], process.argv[3], Number(process.argv[4]), Number(process.argv[5])];
  let result = { ok: false };
  const server = http.createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/html' }); r.end('<html></html>'); });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 60000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--no-first-run'],
  });
  try {
    const version = await browser.version();
    const page = await browser.newPage();
    await page.goto('http://127.0.0.1:8080/');
    result = await page.evaluate(async (url, callMs, messages) => {
      const r = { ok: false, echoes: 0, echoesInOrder: 0 };
      const sleep = (ms) => new Promise((f) => setTimeout(f, ms));
      const pc = new RTCPeerConnection();
      // Headless Chromium pulls received audio only for a playing sink (else totalSamplesReceived stays 0).
      pc.ontrack = (e) => {
        if (e.track.kind !== 'audio') return;
        const a = new Audio();
        a.srcObject = new MediaStream([e.track]);
        a.play().catch(() => {});
      };
      const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      s.getTracks().forEach((t) => pc.addTrack(t, s));
      const dc = pc.createDataChannel('chat');
      const expected = [];
      dc.onmessage = (e) => {
        const text = typeof e.data === 'string' ? e.data : '';
        if (text === expected[r.echoes]) r.echoesInOrder++;
        r.echoes++;
      };
      await pc.setLocalDescription(await pc.createOffer());
      for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; ++i) await sleep(30);
      const t0 = performance.now();
      const post = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
      r.postStatus = post.status;
      const answer = await post.text();
      if (post.status !== 201) { r.error = 'POST ' + post.status + ': ' + answer; return r; }
      const resource = new URL(post.headers.get('Location'), url).toString();
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      for (let i = 0; i < 500 && pc.connectionState !== 'connected'; ++i) await sleep(10);
      r.connectMs = performance.now() - t0;
      if (pc.connectionState !== 'connected') { r.error = 'not connected: ' + pc.connectionState; return r; }
      for (let i = 0; i < 300 && dc.readyState !== 'open'; ++i) await sleep(10);
      if (dc.readyState !== 'open') { r.error = 'data channel not open'; return r; }
      for (let i = 0; i < messages; ++i) {
        const m = i % 10 === 9 ? 'm' + i + ' ' + 'x'.repeat(16384) : 'm' + i;
        expected.push(m);
        dc.send(m);
      }
      // The first decoded frame, then hold the call.
      const connectedAt = performance.now();
      const videoIn = async () => {
        const st = await pc.getStats();
        let v = null;
        st.forEach((x) => { if (x.type === 'inbound-rtp' && x.kind === 'video') v = x; });
        return v;
      };
      for (let i = 0; i < 300; ++i) {
        const v = await videoIn();
        if (v && v.framesDecoded > 0) { r.firstFrameMs = performance.now() - t0; break; }
        await sleep(10);
      }
      while (performance.now() - connectedAt < callMs || (r.echoes < messages && performance.now() - connectedAt < callMs + 5000))
        await sleep(50);
      const st = await pc.getStats();
      const stats = {};
      const byId = {};
      st.forEach((x) => { byId[x.id] = x; });
      st.forEach((x) => {
        if (x.type === 'inbound-rtp') stats['in_' + x.kind] = x;
        if (x.type === 'outbound-rtp') stats['out_' + x.kind] = x;
        if (x.type === 'transport') {
          stats.transport = x;
          const pair = byId[x.selectedCandidatePairId];
          if (pair) stats.localCandidate = byId[pair.localCandidateId];
        }
        if (x.type === 'codec') (stats.codecs = stats.codecs || []).push(x.mimeType);
      });
      r.stats = stats;
      const del = await fetch(resource, { method: 'DELETE' });
      r.deleteStatus = del.status;
      pc.close();
      r.ok = true;
      return r;
    }, url, callMs, messages);
    result.browser = version;
  } catch (e) {
    result.error = String(e);
  }
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
