// The in-page half of calls.js (served inside its page): one RTCPeerConnection at a time with the
// fake camera + microphone and a data channel, either offering (a WHIP POST to tern-peer) or
// answering tern-peer's offer (handed in by the driver). exercise() then sends the numbered
// messages, holds the call and returns what getStats says.
const sleep = (ms) => new Promise((f) => setTimeout(f, ms));
const kBig = 262144;  // Chromium's (and tern's) max-message-size
const kMinFrames = 30, kExtraHoldMs = 8000, kAfterRestartMs = 1500;
let call = null;

async function newCall() {
  const pc = new RTCPeerConnection();
  // Headless Chromium pulls received audio only for a playing sink (else totalSamplesReceived stays 0).
  pc.ontrack = (e) => {
    if (e.track.kind !== 'audio') return;
    const a = new Audio();
    a.srcObject = new MediaStream([e.track]);
    a.play().catch(() => {});
  };
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
  call = { pc, stream, r: { ok: false } };
  return call;
}

async function gathered(pc) {
  for (let i = 0; i < 100 && pc.iceGatheringState !== 'complete'; ++i) await sleep(30);
}

// The transport-wide-cc extmap lines of an SDP.
const twccLines = (sdp) => sdp.split(/\r?\n/).filter((l) => l.startsWith('a=extmap:') && l.includes('transport-wide-cc'));

// Chromium offers: POSTs its offer (candidates included: no trickle) and applies tern's answer.
async function offerCall(url) {
  const c = await newCall();
  c.stream.getTracks().forEach((t) => c.pc.addTrack(t, c.stream));
  c.dc = c.pc.createDataChannel('chat');
  await c.pc.setLocalDescription(await c.pc.createOffer());
  await gathered(c.pc);
  c.t0 = performance.now();
  const post = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: c.pc.localDescription.sdp });
  c.r.postStatus = post.status;
  const answer = await post.text();
  if (post.status !== 201) throw new Error('POST ' + post.status + ': ' + answer);
  c.resource = new URL(post.headers.get('Location'), url).toString();
  await c.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  c.r.offerTwcc = twccLines(c.pc.localDescription.sdp);
  c.r.answerTwcc = twccLines(answer);
}

// tern offers: applies the offer, sends the camera and microphone on the offered transceivers
// (addTrack reuses them: sendrecv), returns the answer with Chromium's candidates.
async function answerCall(offer) {
  const c = await newCall();
  c.t0 = performance.now();
  c.dcOpened = new Promise((f) => { c.pc.ondatachannel = (e) => f(e.channel); });
  await c.pc.setRemoteDescription({ type: 'offer', sdp: offer });
  c.stream.getTracks().forEach((t) => c.pc.addTrack(t, c.stream));
  await c.pc.setLocalDescription(await c.pc.createAnswer());
  await gathered(c.pc);
  c.r.offerTwcc = twccLines(offer);
  c.r.answerTwcc = twccLines(c.pc.localDescription.sdp);
  return c.pc.localDescription.sdp;
}

// The ICE lines of an SDP as an RFC 8840 fragment (application/trickle-ice-sdpfrag): what Chromium's
// offer says about ICE, in its order (a=group:BUNDLE; per m-section its m= line, a=mid, a=ice-ufrag,
// a=ice-pwd, a=ice-options, the candidates and a=end-of-candidates).
const kIceLine = /^(m=|a=(group:BUNDLE|mid:|ice-ufrag:|ice-pwd:|ice-options:|candidate:|end-of-candidates))/;
const iceFragmentOf = (sdp) => sdp.split(/\r?\n/).filter((l) => kIceLine.test(l)).join('\r\n') + '\r\n';
const attrOf = (text, name) => { const m = new RegExp('^a=' + name + ':(.*)$', 'm').exec(text); return m ? m[1].trim() : ''; };

// The answer `sdp` with the credentials and candidates of the server's fragment `frag` (its
// session-level a=ice-ufrag/a=ice-pwd, its sections' candidates): the old generation's candidates
// go, the new ones and a=end-of-candidates go into every m-section (as in tern's answer).
function withIceFragment(sdp, frag) {
  const ufrag = attrOf(frag, 'ice-ufrag'), pwd = attrOf(frag, 'ice-pwd');
  const candidates = frag.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
  const out = [];
  const endSection = () => { if (out.some((l) => l.startsWith('m='))) out.push(...candidates, 'a=end-of-candidates'); };
  for (const l of sdp.split(/\r?\n/)) {
    if (l === '' || l.startsWith('a=candidate:') || l === 'a=end-of-candidates') continue;
    if (l.startsWith('m=')) endSection();
    out.push(l.startsWith('a=ice-ufrag:') ? 'a=ice-ufrag:' + ufrag : l.startsWith('a=ice-pwd:') ? 'a=ice-pwd:' + pwd : l);
  }
  endSection();
  return out.join('\r\n') + '\r\n';
}

// A WHIP ICE restart (RFC 9725 4.4) in the call Chromium offered: restartIce(), a new offer (new
// ufrag/pwd, gathered), its ICE lines PATCHed to the resource with If-Match: "*"; the 200's fragment
// (tern's new credentials and candidates) goes into the old answer, applied as the new answer. Waits
// (bounded) until Chromium's transport runs on the new local ufrag and a new selected pair. What happened goes to
// r.restart; the connection and DTLS states seen from the restart on are kept there too.
async function restartWhip(c) {
  const pc = c.pc, rr = { connectionStates: [], dtlsStates: [] };
  c.r.restart = rr;
  const before = await statsOf(pc);
  const dtls = pc.getSenders()[0].transport;
  dtls.onstatechange = () => rr.dtlsStates.push(dtls.state);
  pc.onconnectionstatechange = () => rr.connectionStates.push(pc.connectionState);
  rr.framesDecodedBefore = before.in_video ? before.in_video.framesDecoded : 0;
  rr.transportBefore = before.transport;
  const t = performance.now();
  rr.startMs = t - c.t0;
  const gatheredAll = new Promise((f) => { pc.onicecandidate = (e) => { if (!e.candidate) f(); }; });
  pc.restartIce();
  await pc.setLocalDescription(await pc.createOffer());
  await Promise.race([gatheredAll, sleep(3000)]);
  rr.fragment = iceFragmentOf(pc.localDescription.sdp);
  rr.localUfrag = attrOf(rr.fragment, 'ice-ufrag');
  const patch = await fetch(c.resource, {
    method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '"*"' }, body: rr.fragment });
  rr.patchStatus = patch.status;
  rr.patchType = patch.headers.get('Content-Type');
  rr.serverFragment = await patch.text();
  if (patch.status !== 200) throw new Error('PATCH ' + patch.status + ': ' + rr.serverFragment);
  rr.remoteUfrag = attrOf(rr.serverFragment, 'ice-ufrag');
  await pc.setRemoteDescription({ type: 'answer', sdp: withIceFragment(pc.currentRemoteDescription.sdp, rr.serverFragment) });
  rr.answerUfrags = pc.currentRemoteDescription.sdp.split(/\r?\n/).filter((l) => l.startsWith('a=ice-ufrag:'));
  for (let i = 0; i < 300; ++i) {
    const tr = (await statsOf(pc)).transport || {};
    if (tr.iceLocalUsernameFragment === rr.localUfrag && tr.iceState === 'connected' &&
        tr.selectedCandidatePairId !== before.transport.selectedCandidatePairId) break;
    await sleep(10);
  }
  rr.restartMs = performance.now() - t;
  const after = await statsOf(pc);
  rr.transportAfter = after.transport;
  rr.pairAfter = after.pair;
  rr.remoteCandidateAfter = after.remoteCandidate;
  rr.sameDtlsTransport = pc.getSenders()[0].transport === dtls;
  c.restartWatched = () => {  // the end of the hold: what was seen since the restart began
    rr.connectionStateAtEnd = pc.connectionState;
    pc.onconnectionstatechange = null;
    dtls.onstatechange = null;
  };
}

// Sends `messages` numbered text messages (every 200th one kBig bytes; none: no channel needed) on
// the call's channel and counts the echoes that come back in order; holds the call callMs after
// connecting (longer, up to 8 s more, while echoes are missing; and see kExtraHoldMs); returns the
// result with the stats. `lossy`: the call drops RTP (tern-peer --loss), NACKs are expected.
// `restart` (a call Chromium offered): once the echoes are back, restartWhip(), and the hold lasts
// kAfterRestartMs past it at least (and kMinFrames / 2 frames decoded since, see kExtraHoldMs).
async function exercise(callMs, messages, lossy, restart) {
  const c = call, pc = c.pc, r = c.r;
  r.echoes = 0;
  r.echoesInOrder = 0;
  r.bigEchoesInOrder = 0;
  for (let i = 0; i < 500 && pc.connectionState !== 'connected'; ++i) await sleep(10);
  r.connectMs = performance.now() - c.t0;
  if (pc.connectionState !== 'connected') throw new Error('not connected: ' + pc.connectionState);
  const connectedAt = performance.now();
  const dc = messages === 0 ? null : c.dc || await Promise.race([c.dcOpened, sleep(5000).then(() => null)]);
  if (messages > 0 && !dc) throw new Error('tern opened no data channel');
  for (let i = 0; dc && i < 500 && dc.readyState !== 'open'; ++i) await sleep(10);
  if (dc && dc.readyState !== 'open') throw new Error('data channel not open');
  r.maxMessageSize = pc.sctp ? pc.sctp.maxMessageSize : 0;
  const expected = [];
  if (dc) dc.onmessage = (e) => {
    const text = typeof e.data === 'string' ? e.data : '';
    if (text === expected[r.echoes]) {
      r.echoesInOrder++;
      if (text.length === kBig) r.bigEchoesInOrder++;
    }
    r.echoes++;
  };
  const videoIn = async () => {
    let v = null;
    (await pc.getStats()).forEach((x) => { if (x.type === 'inbound-rtp' && x.kind === 'video') v = x; });
    return v;
  };
  const firstFrame = (async () => {
    for (let i = 0; i < 300; ++i) {
      const v = await videoIn();
      if (v && v.framesDecoded > 0) { r.firstFrameMs = performance.now() - c.t0; return; }
      await sleep(10);
    }
  })();
  const sendStart = performance.now();
  r.bigSent = 0;
  for (let i = 0; i < messages; ++i) {
    let m = 'm' + i;
    if (i % 200 === 199) {
      m += ' ' + 'x'.repeat(kBig - m.length - 1);
      r.bigSent++;
    }
    expected.push(m);
    // Chromium's send queue is bounded (16 MiB); stay well below it (bounded wait).
    for (let w = 0; w < 2000 && dc.bufferedAmount > (2 << 20); ++w) await sleep(2);
    dc.send(m);
  }
  while (r.echoes < messages && performance.now() - sendStart < 8000) await sleep(5);
  r.echoMs = performance.now() - sendStart;
  await firstFrame;
  let holdUntil = connectedAt + callMs;
  if (restart) {
    await restartWhip(c);
    holdUntil = Math.max(holdUntil, performance.now() + kAfterRestartMs);
  }
  while (performance.now() < holdUntil) await sleep(50);
  // On a loaded machine (CI: 2 cores, Chromium and tern beside other tests) the hold may carry too
  // little media for the checks: hold on, up to kExtraHoldMs more, until each side sent and the
  // other decoded kMinFrames, and in a lossy call until both sides NACKed and retransmitted.
  const enough = async () => {
    const st = await statsOf(pc);
    const vin = st.in_video || {}, vout = st.out_video || {};
    if ((vin.framesDecoded || 0) < kMinFrames || (vout.framesSent || 0) < kMinFrames) return false;
    if (restart && (vin.framesDecoded || 0) - r.restart.framesDecodedBefore < kMinFrames / 2) return false;
    return !lossy || ((vin.nackCount || 0) > 0 && (vin.retransmittedPacketsReceived || 0) > 0 &&
                      (vout.nackCount || 0) > 0 && (vout.retransmittedPacketsSent || 0) > 0);
  };
  const holdEnd = performance.now();
  while (performance.now() - holdEnd < kExtraHoldMs && !(await enough())) await sleep(100);
  r.extraHoldMs = performance.now() - holdEnd;
  if (restart) c.restartWatched();
  r.stats = await statsOf(pc);
  r.ok = true;
  return r;
}

async function statsOf(pc) {
  const st = await pc.getStats();
  const stats = {};
  const byId = {};
  st.forEach((x) => { byId[x.id] = x; });
  st.forEach((x) => {
    if (x.type === 'inbound-rtp') stats['in_' + x.kind] = x;
    if (x.type === 'outbound-rtp' && !x.rid) stats['out_' + x.kind] = x;
    if (x.type === 'transport') {
      stats.transport = x;
      const pair = byId[x.selectedCandidatePairId];
      if (pair) {
        stats.pair = pair;
        stats.localCandidate = byId[pair.localCandidateId];
        stats.remoteCandidate = byId[pair.remoteCandidateId];
      }
    }
    if (x.type === 'codec') (stats.codecs = stats.codecs || []).push(x.mimeType);
    if (x.type === 'data-channel') stats.dataChannel = x;
  });
  return stats;
}

// Ends the call, after tern stopped its side (the driver's SIGINT) or by the DELETE of the WHIP
// resource when Chromium offered: waits settleMs, so that what tern sent before it stopped is
// decoded, and takes the inbound video stats then (tern's counts froze when it stopped; the others
// stay those of exercise(), taken while tern still sent and received: audio would count the settle
// time as concealment). Returns the call's result.
async function hangUp(settleMs) {
  const c = call;
  if (c.resource) c.r.deleteStatus = (await fetch(c.resource, { method: 'DELETE' })).status;
  await sleep(settleMs);
  if (c.r.stats) {
    const after = await statsOf(c.pc);
    if (after.in_video) c.r.stats.in_video = after.in_video;
  }
  c.pc.close();
  c.stream.getTracks().forEach((t) => t.stop());
  call = null;
  return c.r;
}
