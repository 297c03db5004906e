// Headless Chromium against tern's SDP (tests/sdp/chromium_jsep_test.cpp). Usage: node jsep_check.js DIR
//  1. setRemoteDescription(DIR/tern_offer.sdp), createAnswer, setLocalDescription: Chromium accepts
//     tern's offer; its answer goes to the result.
//  2. A second RTCPeerConnection with the fake camera and microphone and a data channel offers;
//     the offer is written to DIR/chromium_offer.sdp; once DIR/tern_answer.sdp appears (tern's
//     answer, written by the test), setRemoteDescription(answer): Chromium accepts tern's answer.
// DIR/result.json: {browser, answerToTern, answerAccepted, error}. Exit 0 when both steps worked.
const http = require('http');
const fs = require('fs');
const path = require('path');
const puppeteer = require('puppeteer-core');

(async () => {
  const dir = process.argv[2];
  const result = { ok: false };
  const server = http.createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/html' }); r.end('<html></html>'); });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 30000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--disable-gpu', '--no-first-run'],
  });
  try {
    result.browser = await browser.version();
    const page = await browser.newPage();
    await page.goto('http://127.0.0.1:8080/');
    const ternOffer = fs.readFileSync(path.join(dir, 'tern_offer.sdp'), 'utf8');
    result.answerToTern = await page.evaluate(async (sdp) => {
      const pc = new RTCPeerConnection();
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription.sdp;
    }, ternOffer);
    const offer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      window.pc = pc;
      const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      s.getTracks().forEach((t) => pc.addTrack(t, s));
      pc.createDataChannel('chat');
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription.sdp;
    });
    fs.writeFileSync(path.join(dir, 'chromium_offer.sdp.tmp'), offer);
    fs.renameSync(path.join(dir, 'chromium_offer.sdp.tmp'), path.join(dir, 'chromium_offer.sdp'));
    const answerPath = path.join(dir, 'tern_answer.sdp');
    for (let i = 0; i < 300 && !fs.existsSync(answerPath); ++i) await new Promise((r) => setTimeout(r, 50));
    const answer = fs.readFileSync(answerPath, 'utf8');
    result.answerAccepted = await page.evaluate(async (sdp) => {
      await window.pc.setRemoteDescription({ type: 'answer', sdp });
      return window.pc.signalingState;
    }, answer);
    result.ok = result.answerAccepted === 'stable';
  } catch (e) {
    result.error = String(e);
  }
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
