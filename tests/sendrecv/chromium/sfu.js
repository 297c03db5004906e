// Headless Chromium (one browser process, several pages) through tern-sfu (tests/sendrecv/
// tern_sfu_chromium_test.cpp), with plain fetch + RTCPeerConnection as a browser app would:
//  1. "broadcast": page P publishes its fake camera + microphone by WHIP to SFU/whip/bcast; pages
//     S1 and S2 and one tern-peer (TERN_PEER_WHEP ARGS..., run by this driver with the room's WHEP
//     URL appended) subscribe by WHEP to SFU/whep/bcast. Each subscriber's frames decoded compare
//     with P's framesSent since that subscriber's first decoded frame (both taken here).
//  2. "call": pages A and B (S1 and S2 again, their broadcast connections closed) each publish to SFU/whip/call1 (a call room: tern-sfu --room-mode call)
//     and subscribe to the other side at SFU/whep/<own WHIP resource id> (retrying 404 until the
//     other side published). B's two peer connections go only through TURN_URL (tern-turn with
//     loss: iceTransportPolicy 'relay'); A's are direct. A third publisher is refused (409). At
//     the end each side stops sending (replaceTrack(null)), its last getStats is taken, the
//     server's /stats (sessions' remote addresses, recordings) read, and the driver DELETEs both
//     WHIP resources (which finalises tern-sfu's recordings of them).
//  3. "simulcast": P publishes a 640x360 fake camera by WHIP to SFU/whip/simul with three encodings
//     (sendEncodings rids q, h, f: scaleResolutionDownBy 4, 2, 1); S1 subscribes by WHEP and
//     decodes the one encoding the server forwards to it. Chromium sends two of the three at
//     640x360 (it drops a layer below 960x540): q and h. simulcast.timeline samples the publisher
//     every 500 ms (candidate pair's availableOutgoingBitrate, per rid framesSent/frameWidth/
//     targetBitrate, remote-inbound-rtp); TERN_CHROMIUM_LOG=FILE writes Chromium's log (webrtc at
//     verbosity 2) there, for debugging.
// Usage: node sfu.js RESULT_JSON SFU_BASE TURN_URL TURN_USER TURN_PASS HOLD_MS TERN_PEER_WHEP ARGS...
// RESULT_JSON: {browser, ok, error, broadcast: {publisher, subscribers: [..], ternPeerExit},
// call: {a, b, thirdPublisherStatus}, simulcast: {publish, subscribe, start, publisherStart, timeline, end, publisherEnd, sfuStats}, marks (ms since start of each phase), wallMs}; each side
// {publish, subscribe, start, end, stopped, deleteStatus}: the getStats snapshots after both first
// frames, HOLD_MS later, and once it stopped sending; call.sfuStats: /stats before the DELETEs.
const http = require('http');
const fs = require('fs');
const { spawn } = require('child_process');
const puppeteer = require('puppeteer-core');

const { getJson, httpDelete, withTimeout, pageHtml } = require('./whip_lib.js');

// In the page (serialized into it): one publisher and/or one subscriber peer connection.
function pageCode() {
  const { sleep, connected } = window.whip;  // whip_lib.js
  const pcs = {};
  const config = (relay) => (relay ? { iceServers: [relay.server], iceTransportPolicy: 'relay' } : {});
  // POSTs the offer (after gathering: no trickle); 404 retried every 100 ms up to `retries` times.
  async function post(pc, url, retries) {
    const { answer, ...r } = await window.whip.post(pc, url, retries);
    return r;
  }
  // The camera and microphone (opened once; the driver opens them early, while other pages hold).
  let media = null;
  window.prepare = () => {
    media = media || navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
    return media;
  };
  window.publish = async (url, relay) => {
    const pc = new RTCPeerConnection(config(relay));
    const stream = await window.prepare();
    stream.getTracks().forEach((t) => pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] }));
    pcs.pub = pc;
    const t0 = performance.now();
    const r = await post(pc, url, 0);
    await connected(pc);
    r.connectMs = performance.now() - t0;
    r.id = r.resource.split('/').pop();  // the WHIP resource id: names this side of a call
    return r;
  };
  // Simulcast: a 640x360 camera in three encodings (libwebrtc may leave the top one inactive at
  // this size: the server forwards whichever it learns).
  window.publishSimulcast = async (url) => {
    const pc = new RTCPeerConnection();
    // Audio too, first: a video-only offer numbers the header extensions otherwise, and the server
    // takes only its own ids (abs-send-time 2, transport-wide-cc 3, mid 4).
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    pc.addTransceiver(stream.getVideoTracks()[0], {
      direction: 'sendonly', streams: [stream],
      sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }],
    });
    pcs.pub = pc;
    const t0 = performance.now();
    const r = await post(pc, url, 0);
    await connected(pc);
    r.connectMs = performance.now() - t0;
    r.offerRids = (pc.localDescription.sdp.match(/a=rid:[^\r\n]*/g) || []);
    return r;
  };
  window.subscribe = async (url, relay) => {
    const pc = new RTCPeerConnection(config(relay));
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    // Headless Chromium pulls received audio only for a playing sink.
    pc.ontrack = (e) => {
      if (e.track.kind !== 'audio') return;
      const a = new Audio();
      a.srcObject = new MediaStream([e.track]);
      a.play().catch(() => {});
    };
    pcs.sub = pc;
    const t0 = performance.now();
    const r = await post(pc, url, 50);
    await connected(pc);
    r.connectMs = performance.now() - t0;
    return r;
  };
  // Resolves when the subscriber decoded its first video frame (bounded: 5 s).
  window.firstFrame = async () => {
    for (let i = 0; i < 500; ++i) {
      const s = await window.stats();
      if (s.in_video && s.in_video.framesDecoded > 0) return s;
      await sleep(10);
    }
    throw new Error('no video frame decoded');
  };
  window.stats = async () => {
    const out = {};
    for (const [role, pc] of Object.entries(pcs)) {
      (await pc.getStats()).forEach((x) => {
        if (x.type === 'inbound-rtp') out['in_' + x.kind] = x;
        if (x.type === 'outbound-rtp') out['out_' + x.kind] = x;
        if (x.type === 'outbound-rtp' && x.rid) (out.out_rids = out.out_rids || {})[x.rid] = x;
        if (x.type === 'candidate-pair' && x.nominated && x.state === 'succeeded') {
          out[role + '_pair'] = { localCandidateId: x.localCandidateId, currentRoundTripTime: x.currentRoundTripTime,
                                  availableOutgoingBitrate: x.availableOutgoingBitrate };
        }
        if (x.type === 'remote-inbound-rtp') {
          (out.remote_in = out.remote_in || {})[x.ssrc] = { fractionLost: x.fractionLost, packetsLost: x.packetsLost,
                                                            jitter: x.jitter, roundTripTime: x.roundTripTime };
        }
        if (x.type === 'local-candidate') (out[role + '_local'] = out[role + '_local'] || {})[x.id] = x.candidateType;
      });
    }
    return out;
  };
  // The publisher stops sending (no track: no more RTP), then its final figures (bounded: 150 ms).
  window.stopSending = async () => {
    await Promise.all(pcs.pub.getSenders().map((x) => x.replaceTrack(null)));
    await sleep(150);
    return window.stats();
  };
  window.release = async () => {
    if (media) (await media).getTracks().forEach((t) => t.stop());
    media = null;
  };
  window.hangUp = () => {
    Object.values(pcs).forEach((pc) => pc.close());
    for (const k of Object.keys(pcs)) delete pcs[k];
  };
  // The status of a WHIP POST of a fresh offer (a third publisher of a call room: 409).
  window.postStatus = async (url) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    pc.close();
    return r.status;
  };
}

(async () => {
  const t0 = Date.now();
  const [resultPath, sfu, turnUrl, turnUser, turnPass, holdArg] = process.argv.slice(2, 8);
  const ternPeer = process.argv.slice(8);
  const holdMs = Number(holdArg);
  const relay = { server: { urls: turnUrl, username: turnUser, credential: turnPass } };
  const result = { ok: false, marks: {} };
  const html = pageHtml(pageCode);
  const server = http.createServer((q, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium', headless: true, protocolTimeout: 30000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--no-first-run'].concat(
      process.env.TERN_CHROMIUM_LOG ? ['--enable-logging=stderr', '--v=1', '--vmodule=*/webrtc/*=2'] : []),
  });
  if (process.env.TERN_CHROMIUM_LOG) browser.process().stderr.pipe(fs.createWriteStream(process.env.TERN_CHROMIUM_LOG));
  let child = null;
  const newPage = async () => {
    const p = await browser.newPage();
    await p.goto('http://127.0.0.1:8080/');
    return p;
  };
  try {
    result.browser = await browser.version();
    result.marks.browser = Date.now() - t0;
    // Three pages: the broadcast's subscribers S1 and S2 are then the call's sides A and B.
    const [P, S1, S2] = await Promise.all([newPage(), newPage(), newPage()]);
    const [A, B] = [S1, S2];
    result.marks.pages = Date.now() - t0;

    // 1. Broadcast: P publishes; S1, S2 and tern-peer subscribe.
    const b = (result.broadcast = {});
    b.publish = await withTimeout(P.evaluate((u) => publish(u), sfu + '/whip/bcast'), 8000, 'P publishes');
    const ternPeerCommand = ternPeer.concat([sfu + '/whep/bcast']);
    b.ternPeerSpawnedMs = Date.now();
    child = spawn(ternPeerCommand[0], ternPeerCommand.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise((f) => child.on('exit', (code, signal) => f(code === null ? 'signal ' + signal : code)));
    b.ternPeerSpawnedSent = (await P.evaluate(() => stats())).out_video.framesSent;
    const subscribers = [S1, S2];
    b.subscribers = await withTimeout(Promise.all(subscribers.map(async (S) => {
      const r = { subscribe: await S.evaluate((u) => subscribe(u), sfu + '/whep/bcast') };
      await S.evaluate(() => firstFrame());
      r.publisherSentAtFirstFrame = (await P.evaluate(() => stats())).out_video.framesSent;
      return r;
    })), 10000, 'S1, S2 subscribe');
    const prepared = Promise.all([A, B].map((p) => p.evaluate(() => prepare().then(() => true))));
    result.marks.broadcastHold = Date.now() - t0;
    await new Promise((f) => setTimeout(f, holdMs));
    await prepared;
    const [pEnd, ...sEnd] = await Promise.all([P, S1, S2].map((p) => p.evaluate(() => stats())));
    b.sfuStats = await getJson(sfu + '/stats');
    b.publisher = pEnd;
    sEnd.forEach((s, i) => { b.subscribers[i].stats = s; });
    b.ternPeerExit = await withTimeout(exited, 8000, 'tern-peer exit');
    b.ternPeerExitMs = Date.now();
    b.publisherSentAtTernPeerExit = (await P.evaluate(() => stats())).out_video.framesSent;
    child = null;
    await Promise.all([P, S1, S2].map((p) => p.evaluate(() => hangUp())));

    // 2. Call: A (direct) and B (through the lossy TURN relay), each publishes then subscribes
    // to the other side; a third publisher is refused.
    const c = (result.call = {});
    result.marks.call = Date.now() - t0;
    const side = async (page, r) => {
      const s = { publish: await page.evaluate((u, x) => publish(u, x), sfu + '/whip/call1', r) };
      s.subscribe = await page.evaluate((u, x) => subscribe(u, x), sfu + '/whep/' + s.publish.id, r);
      await page.evaluate(() => firstFrame());
      return s;
    };
    [c.a, c.b] = await withTimeout(Promise.all([side(A, null), side(B, relay)]), 12000, 'the call');
    c.thirdPublisherStatus = await A.evaluate((u) => postStatus(u), sfu + '/whip/call1');
    // Frames each side's publisher had sent when the other side decoded its first frame.
    const [a0, b0] = await Promise.all([A, B].map((p) => p.evaluate(() => stats())));
    result.marks.callHold = Date.now() - t0;
    c.a.start = a0;
    c.b.start = b0;
    await new Promise((f) => setTimeout(f, holdMs));
    // 5% loss on a 2.5 s call gives B's uplink and downlink a handful of video losses each (1-6
    // NACKs seen); on a loaded machine fewer frames go out and a side can have none to repair: hold
    // on, up to 4 s more, until B has NACKed and been NACKed (the checks' subject).
    const nacked = (st) => (st.in_video || {}).nackCount > 0 && (st.out_video || {}).nackCount > 0;
    const lossyFrom = Date.now();
    while (Date.now() - lossyFrom < 4000 && !nacked(await B.evaluate(() => stats()))) {
      await new Promise((f) => setTimeout(f, 100));
    }
    c.extraHoldMs = Date.now() - lossyFrom;
    const [a1, b1] = await Promise.all([A, B].map((p) => p.evaluate(() => stats())));
    c.a.end = a1;
    c.b.end = b1;
    // Both stop publishing; DELETE ends their sessions (and finalises tern-sfu's recordings).
    [c.a.stopped, c.b.stopped] = await withTimeout(Promise.all([A, B].map((p) => p.evaluate(() => stopSending()))), 5000, 'stop');
    c.sfuStats = await getJson(sfu + '/stats');
    [c.a.deleteStatus, c.b.deleteStatus] = await Promise.all([c.a, c.b].map((x) => httpDelete(x.publish.resource)));
    await Promise.all([A, B].map((p) => p.evaluate(() => hangUp())));

    // 3. Simulcast: P publishes three encodings, S1 subscribes. The fake camera is shared by the
    // pages at the size it was opened with (320x240): every page stops its tracks first.
    await Promise.all([P, A, B].map((p) => p.evaluate(() => release())));
    const sc = (result.simulcast = {});
    result.marks.simulcast = Date.now() - t0;
    sc.publish = await withTimeout(P.evaluate((u) => publishSimulcast(u), sfu + '/whip/simul'), 8000, 'simulcast publish');
    sc.subscribe = await withTimeout(S1.evaluate((u) => subscribe(u), sfu + '/whep/simul'), 8000, 'simulcast subscribe');
    await withTimeout(S1.evaluate(() => firstFrame()), 6000, 'simulcast first frame');
    [sc.start, sc.publisherStart] = await Promise.all([S1, P].map((p) => p.evaluate(() => stats())));
    // A second more than the other holds: the server measures the encodings' rates for a second and
    // moves a subscriber up after its estimate allowed it for 2 s.
    // The publisher's send side meanwhile (its estimate, each encoding's frames and target).
    sc.timeline = [];
    const sample = async () => {
      const st = await P.evaluate(() => stats());
      const rids = {};
      for (const [rid, x] of Object.entries(st.out_rids || {})) {
        rids[rid] = { framesSent: x.framesSent, frameWidth: x.frameWidth || 0, targetBitrate: x.targetBitrate,
                      qualityLimitationReason: x.qualityLimitationReason };
      }
      sc.timeline.push({ ms: Date.now() - t0 - result.marks.simulcast,
                         availableOutgoingBitrate: (st.pub_pair || {}).availableOutgoingBitrate,
                         remoteIn: st.remote_in, rids });
    };
    const holdFrom = Date.now();
    while (Date.now() - holdFrom < holdMs + 1000) {
      await sample();
      await new Promise((f) => setTimeout(f, 500));
    }
    // A loaded machine measures and decides later: wait (bounded, 6 s more) for the move up.
    const widthOf = (st) => ((st && st.in_video) || {}).frameWidth || 0;
    const extraFrom = Date.now();
    while (Date.now() - extraFrom < 6000 && widthOf(await S1.evaluate(() => stats())) <= widthOf(sc.start)) {
      await new Promise((f) => setTimeout(f, 200));
    }
    sc.extraWaitMs = Date.now() - extraFrom;
    await sample();
    [sc.end, sc.publisherEnd] = await Promise.all([S1, P].map((p) => p.evaluate(() => stats())));
    sc.sfuStats = await getJson(sfu + '/stats');
    result.ok = true;
  } catch (e) {
    result.error = String(e && e.stack ? e.stack : e);
  }
  if (child) child.kill('SIGKILL');
  result.wallMs = Date.now() - t0;
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
