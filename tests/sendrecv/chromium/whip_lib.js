// What tern's WHIP/WHEP Chromium drivers share (sfu.js, sfu_ice_tcp.js, scripts/sfu_vp9_svc.js):
// the Node side's HTTP helpers, and the page side's offer/answer exchange, serialised into each
// driver's page before its own code (pageHtml).
const http = require('http');

// GET url as JSON; null on any error.
const getJson = (url) => new Promise((f) => {
  http.get(url, (res) => {
    let body = '';
    res.on('data', (d) => { body += d; });
    res.on('end', () => { try { f(JSON.parse(body)); } catch (e) { f(null); } });
  }).on('error', () => f(null));
});

// DELETE url; its status, 0 on a connection error.
const httpDelete = (url) => new Promise((f) => {
  const q = http.request(url, { method: 'DELETE' }, (res) => { res.resume(); res.on('end', () => f(res.statusCode)); });
  q.on('error', () => f(0));
  q.end();
});

// `p`, or a rejection naming `what` after `ms`.
const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timeout: ' + what)), ms))]);

// In the page (serialised into it): window.whip = {sleep, gathered, connected, post}.
function whipPageHelpers() {
  const sleep = (ms) => new Promise((f) => setTimeout(f, ms));
  // ICE gathering complete (no trickle: the offer carries every candidate), at most 2 s.
  async function gathered(pc) {
    for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; ++i) await sleep(20);
  }
  // The peer connection connected within tries x 10 ms, or an error.
  async function connected(pc, tries = 500) {
    for (let i = 0; i < tries && pc.connectionState !== 'connected'; ++i) await sleep(10);
    if (pc.connectionState !== 'connected') throw new Error('not connected: ' + pc.connectionState);
  }
  // POSTs the offer after gathering and applies the answer; a 404 (the room's publisher not there
  // yet) is retried every 100 ms up to `retries` times. {status, retries, resource, answer}.
  async function post(pc, url, retries = 0) {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    for (let i = 0; ; ++i) {
      const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
      const body = await r.text();
      if (r.status === 201) {
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
        const location = r.headers.get('Location');
        return { status: 201, retries: i, resource: location ? new URL(location, url).toString() : '', answer: body };
      }
      if (r.status !== 404 || i >= retries) throw new Error('POST ' + url + ': ' + r.status + ' ' + body);
      await sleep(100);
    }
  }
  window.whip = { sleep, gathered, connected, post };
}

// A page running the shared helpers, then `pageCode`.
const pageHtml = (pageCode) =>
  '<html><script>(' + whipPageHelpers.toString() + ')();(' + pageCode.toString() + ')();</script></html>';

module.exports = { getJson, httpDelete, withTimeout, pageHtml };
