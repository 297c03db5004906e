// Headless Chromium publishes VP9 SVC (scalabilityMode L3T3_KEY: 3 spatial x 3 temporal layers on
// one SSRC) by WHIP to tern-sfu; page S subscribes by WHEP through a TURN relay whose
// capacity is limited (tern-turn --capacity), so tern-sfu's GCC estimate toward it stays low and
// its LayerSelector forwards fewer spatial layers; page R subscribes directly (the reference: every
// picture at full size). Run by scripts/sfu-vp9-svc.sh (which starts
// tern-sfu and tern-turn in a network namespace of its own).
// Usage: node sfu_vp9_svc.js RESULT_JSON SFU_BASE TURN_URL TURN_USER TURN_PASS HOLD_MS
// RESULT_JSON: {browser, ok, error, publish, subscribe, start, end (getStats of both pages),
// timeline (every second: publisher frameWidth/framesSent/targetBitrate/scalabilityMode, subscriber
// frameWidth/framesDecoded/freezeCount, the server's stats of the subscriber session), sfuStats, wallMs}.
const http = require('http');
const fs = require('fs');
const puppeteer = require('puppeteer-core');

const { getJson, withTimeout, pageHtml } = require('../tests/sendrecv/chromium/whip_lib.js');

function pageCode() {
  const { sleep } = window.whip;  // tests/sendrecv/chromium/whip_lib.js
  let pc = null;
  async function post(url, retries) {
    const r = await window.whip.post(pc, url, retries);
    return { status: r.status, retries: r.retries };
  }
  const connected = () => window.whip.connected(pc, 800);
  window.publishSvc = async (url, width, height, mode) => {
    pc = new RTCPeerConnection();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height } });
    // Audio first, as the other tern-sfu Chromium tests (the server's extension ids).
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    const t = pc.addTransceiver(stream.getVideoTracks()[0], {
      direction: 'sendonly', streams: [stream], sendEncodings: [{ scalabilityMode: mode }],
    });
    // VP9 (profile 0) only, with its RTX.
    const codecs = RTCRtpSender.getCapabilities('video').codecs.filter((c) =>
      (c.mimeType === 'video/VP9' && (c.sdpFmtpLine || '').includes('profile-id=0')) || c.mimeType === 'video/rtx');
    t.setCodecPreferences(codecs);
    const r = await post(url, 0);
    await connected();
    r.encodings = t.sender.getParameters().encodings;
    return r;
  };
  window.subscribe = async (url, relay) => {
    pc = new RTCPeerConnection(relay ? { iceServers: [relay], iceTransportPolicy: 'relay' } : {});
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const r = await post(url, 50);
    await connected();
    return r;
  };
  window.stats = async () => {
    const out = {};
    (await pc.getStats()).forEach((x) => {
      if (x.type === 'inbound-rtp' || x.type === 'outbound-rtp') out[(x.type === 'inbound-rtp' ? 'in_' : 'out_') + x.kind] = x;
      if (x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded') {
        out.pair = { currentRoundTripTime: x.currentRoundTripTime, availableOutgoingBitrate: x.availableOutgoingBitrate };
      }
    });
    return out;
  };
  window.firstFrame = async () => {
    for (let i = 0; i < 800; ++i) {
      const s = await window.stats();
      if (s.in_video && s.in_video.framesDecoded > 0) return s;
      await sleep(10);
    }
    throw new Error('no video frame decoded');
  };
}

(async () => {
  const t0 = Date.now();
  const [resultPath, sfu, turnUrl, turnUser, turnPass, holdArg, widthArg, heightArg, modeArg] = process.argv.slice(2, 11);
  const holdMs = Number(holdArg);
  const width = Number(widthArg || 640), height = Number(heightArg || 360), mode = modeArg || 'L3T3_KEY';
  const relay = { urls: turnUrl, username: turnUser, credential: turnPass };
  const result = { ok: false, mode, width, height };
  const html = pageHtml(pageCode);
  const server = http.createServer((q, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 30000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--no-first-run'],
  });
  try {
    result.browser = await browser.version();
    // P publishes; S subscribes through the limited relay, R (the reference) directly.
    const [P, S, R] = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
    await Promise.all([P, S, R].map((p) => p.goto('http://127.0.0.1:8080/')));
    result.publish = await withTimeout(P.evaluate((u, w, h, m) => publishSvc(u, w, h, m), sfu + '/whip/svc', width, height, mode), 10000, 'publish');
    // R first; S joins once the server has measured the publisher's layers (a second: before it,
    // a subscriber gets every layer, which a limited link would choke on).
    result.subscribeReference = await withTimeout(R.evaluate((u) => subscribe(u, null), sfu + '/whep/svc'), 10000, 'subscribe R');
    await withTimeout(R.evaluate(() => firstFrame()), 10000, 'first frame R');
    await new Promise((f) => setTimeout(f, 1200));
    result.subscribe = await withTimeout(S.evaluate((u, r) => subscribe(u, r), sfu + '/whep/svc', relay), 10000, 'subscribe');
    await withTimeout(S.evaluate(() => firstFrame()), 10000, 'first frame S');
    [result.start, result.publisherStart, result.referenceStart] = await Promise.all([S, P, R].map((p) => p.evaluate(() => stats())));
    result.timeline = [];
    const from = Date.now();
    while (Date.now() - from < holdMs) {
      await new Promise((f) => setTimeout(f, 1000));
      const [s, p, rf] = await Promise.all([S, P, R].map((x) => x.evaluate(() => stats())));
      const sfuStats = await getJson(sfu + '/stats');
      const sessions = [];
      const walk = (o) => {  // every object with an estimate: the sessions
        if (!o || typeof o !== 'object') return;
        if (Array.isArray(o)) { o.forEach(walk); return; }
        if ('packetsForwarded' in o && 'estimate' in o) sessions.push({ estimate: o.estimate, temporalLayer: o.temporalLayer,
          spatialLayer: o.spatialLayer, spatialLayerSwitchesUp: o.spatialLayerSwitchesUp,
          spatialLayerSwitchesDown: o.spatialLayerSwitchesDown, layerKeyframeRequests: o.layerKeyframeRequests,
          layerBytesDropped: o.layerBytesDropped, packetsForwarded: o.packetsForwarded });
        Object.values(o).forEach(walk);
      };
      walk(sfuStats);
      const iv = s.in_video || {}, ov = p.out_video || {};
      result.timeline.push({
        ms: Date.now() - from,
        pub: { frameWidth: ov.frameWidth, framesSent: ov.framesSent, framesEncoded: ov.framesEncoded, targetBitrate: ov.targetBitrate,
               scalabilityMode: ov.scalabilityMode, availableOutgoingBitrate: (p.pair || {}).availableOutgoingBitrate,
               qualityLimitationReason: ov.qualityLimitationReason },
        sub: { frameWidth: iv.frameWidth, framesDecoded: iv.framesDecoded, framesReceived: iv.framesReceived,
               framesDropped: iv.framesDropped, freezeCount: iv.freezeCount, keyFramesDecoded: iv.keyFramesDecoded,
               bytesReceived: iv.bytesReceived },
        reference: { frameWidth: (rf.in_video || {}).frameWidth, framesDecoded: (rf.in_video || {}).framesDecoded,
                     bytesReceived: (rf.in_video || {}).bytesReceived },
        sessions,
      });
    }
    [result.end, result.publisherEnd, result.referenceEnd] = await Promise.all([S, P, R].map((p) => p.evaluate(() => stats())));
    result.sfuStats = await getJson(sfu + '/stats');
    // Over the hold: pictures the publisher sent and the subscriber received/decoded, freezes.
    const d = (a, b, k) => ((b || {})[k] || 0) - ((a || {})[k] || 0);
    const last = result.timeline[result.timeline.length - 1] || { sessions: [] };
    // The limited subscriber's session: the one with the lowest estimate among those forwarded to.
    const sub = last.sessions.filter((x) => x.packetsForwarded > 0).sort((a, b) => a.estimate - b.estimate)[0] || {};
    result.summary = {
      seconds: holdMs / 1000,
      publisherFrameWidth: (result.publisherEnd.out_video || {}).frameWidth,
      subscriberFrameWidth: (result.end.in_video || {}).frameWidth,
      publisherFramesSent: d(result.publisherStart.out_video, result.publisherEnd.out_video, 'framesSent'),
      subscriberFramesReceived: d(result.start.in_video, result.end.in_video, 'framesReceived'),
      subscriberFramesDecoded: d(result.start.in_video, result.end.in_video, 'framesDecoded'),
      subscriberFramesDropped: d(result.start.in_video, result.end.in_video, 'framesDropped'),
      subscriberFreezes: d(result.start.in_video, result.end.in_video, 'freezeCount'),
      subscriberKeyFrames: d(result.start.in_video, result.end.in_video, 'keyFramesDecoded'),
      subscriberTotalFreezesDuration: d(result.start.in_video, result.end.in_video, 'totalFreezesDuration'),
      referenceFrameWidth: (result.referenceEnd.in_video || {}).frameWidth,
      referenceFramesDecoded: d(result.referenceStart.in_video, result.referenceEnd.in_video, 'framesDecoded'),
      referenceFreezes: d(result.referenceStart.in_video, result.referenceEnd.in_video, 'freezeCount'),
      serverEstimate: sub.estimate, serverSpatialLayer: sub.spatialLayer, serverTemporalLayer: sub.temporalLayer,
      serverSpatialSwitchesUp: sub.spatialLayerSwitchesUp, serverSpatialSwitchesDown: sub.spatialLayerSwitchesDown,
      serverLayerKeyframeRequests: sub.layerKeyframeRequests,
    };
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack ? e.stack : e);
  }
  result.wallMs = Date.now() - t0;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  console.log(JSON.stringify(result.ok ? result.summary : { error: result.error }));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
