// The Chromium half of scripts/side-by-side.sh (issue 16, side by side with libwebrtc): one call in
// headless Chromium through tern-turn, written to a JSON file for table.py.
// Usage: node chromium.js MODE RESULT_JSON CALL_MS TURN_URL TURN_USER TURN_PASS [URL]
//   MODE c2c: two RTCPeerConnections in the page, the sender (sendonly, no ICE server: host only)
//             and the receiver (recvonly, iceTransportPolicy 'relay' through TURN_URL); candidates
//             trickled in the page.
//        c2t: the sender only (sendonly, relay through TURN_URL), WHIP POST of its offer to URL
//             (tern-peer --whip-listen, which receives).
//        t2c: the receiver only (recvonly, relay through TURN_URL), WHEP POST of its offer to URL
//             (tern-peer --whep-listen, which sends).
// Media: Chromium's fake camera (--use-fake-device-for-media-stream; with $SBS_Y4M set, the pictures
// of that Y4M file, --use-file-for-fake-video-capture) at 640x360@30 and fake microphone; VP8 is put
// first. Every 500 ms the receiver's getStats gives an end-to-end sample:
// stats time (wall clock) minus estimatedPlayoutTimestamp (the sender's NTP time of what plays now;
// meaningful because both ends' NTP clocks are this machine's wall clock). After CALL_MS from
// connected (ICE+DTLS) the final getStats of both ends is written.
// RESULT_JSON: {ok, error, browser, mode, connectMs, firstFrameMs, callMs, e2eMs: [...], audioE2eMs: [...],
//               inVideo, inAudio, outVideo, outAudio, pair, codecs}. Exit 0 when the call ran.
const http = require('http');
const fs = require('fs');
const puppeteer = require('puppeteer-core');

(async () => {
  const [mode, resultPath, callMs, turnUrl, user, pass, url] = process.argv.slice(2);
  let result = { ok: false, mode };
  const server = http.createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/html' }); r.end('<html><body></body></html>'); });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, protocolTimeout: 120000,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream',
           '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required', '--disable-gpu', '--no-first-run',
           ...(process.env.SBS_Y4M ? ['--use-file-for-fake-video-capture=' + process.env.SBS_Y4M] : [])],
  });
  try {
    const version = await browser.version();
    const page = await browser.newPage();
    page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto('http://127.0.0.1:8080/');
    result = await page.evaluate(async (mode, callMs, turnUrl, user, pass, url) => {
      const r = { ok: false, mode, e2eMs: [], audioE2eMs: [] };
      const sleep = (ms) => new Promise((f) => setTimeout(f, ms));
      const relay = { iceServers: [{ urls: turnUrl, username: user, credential: pass }], iceTransportPolicy: 'relay' };
      const vp8First = (t) => {
        const caps = RTCRtpReceiver.getCapabilities('video').codecs;
        const rank = (c) => (c.mimeType === 'video/VP8' ? 0 : 1);
        t.setCodecPreferences([...caps].sort((a, b) => rank(a) - rank(b)));
      };
      const play = (pc) => {
        pc.ontrack = (e) => {
          const el = document.createElement(e.track.kind === 'audio' ? 'audio' : 'video');
          el.muted = e.track.kind === 'video';
          el.autoplay = true;
          el.srcObject = new MediaStream([e.track]);
          document.body.appendChild(el);
          el.play().catch(() => {});
        };
      };
      const gathered = async (pc) => {
        for (let i = 0; i < 300 && pc.iceGatheringState !== 'complete'; ++i) await sleep(20);
      };
      const camera = () => navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360, frameRate: 30 } });
      let sender = null, receiver = null, resource = null;
      const s = mode === 't2c' ? null : await camera();
      const t0 = performance.now();  // connectMs and firstFrameMs from here (after the camera opened)
      if (mode === 'c2c') {
        sender = new RTCPeerConnection();
        receiver = new RTCPeerConnection(relay);
        sender.onicecandidate = (e) => { if (e.candidate) receiver.addIceCandidate(e.candidate); };
        receiver.onicecandidate = (e) => { if (e.candidate) sender.addIceCandidate(e.candidate); };
        play(receiver);
        for (const track of s.getTracks()) {
          const t = sender.addTransceiver(track, { direction: 'sendonly', streams: [s] });
          if (track.kind === 'video') vp8First(t);
        }
        await sender.setLocalDescription(await sender.createOffer());
        await receiver.setRemoteDescription(sender.localDescription);
        await receiver.setLocalDescription(await receiver.createAnswer());
        await sender.setRemoteDescription(receiver.localDescription);
      } else {
        const pc = new RTCPeerConnection(relay);
        if (mode === 'c2t') {
          sender = pc;
          for (const track of s.getTracks()) {
            const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [s] });
            if (track.kind === 'video') vp8First(t);
          }
        } else {
          receiver = pc;
          play(pc);
          pc.addTransceiver('audio', { direction: 'recvonly' });
          vp8First(pc.addTransceiver('video', { direction: 'recvonly' }));
        }
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        const post = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
        const answer = await post.text();
        if (post.status !== 201) { r.error = 'POST ' + post.status + ': ' + answer; return r; }
        resource = new URL(post.headers.get('Location'), url).toString();
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      }
      const pcs = [sender, receiver].filter((p) => p);
      const connected = () => pcs.every((p) => p.connectionState === 'connected');
      for (let i = 0; i < 1000 && !connected(); ++i) await sleep(10);
      r.connectMs = performance.now() - t0;
      if (!connected()) { r.error = 'not connected: ' + pcs.map((p) => p.connectionState).join(','); return r; }
      const connectedAt = performance.now();
      const byType = async (pc) => {
        const st = await pc.getStats();
        const out = { byId: {} };
        st.forEach((x) => {
          out.byId[x.id] = x;
          if (x.type === 'inbound-rtp') out['in_' + x.kind] = x;
          if (x.type === 'outbound-rtp') out['out_' + x.kind] = x;
          if (x.type === 'remote-inbound-rtp') out['remote_in_' + x.kind] = x;
          if (x.type === 'transport') out.transport = x;
        });
        return out;
      };
      while (performance.now() - connectedAt < callMs) {
        if (receiver) {
          const s = await byType(receiver);
          const v = s.in_video;
          if (v && v.framesDecoded > 0 && r.firstFrameMs === undefined) r.firstFrameMs = performance.now() - t0;
          if (v && v.estimatedPlayoutTimestamp) r.e2eMs.push(v.timestamp + 2208988800000 - v.estimatedPlayoutTimestamp);
          const au = s.in_audio;
          if (au && au.estimatedPlayoutTimestamp) r.audioE2eMs.push(au.timestamp + 2208988800000 - au.estimatedPlayoutTimestamp);
        }
        await sleep(500);
      }
      r.callMs = performance.now() - connectedAt;
      if (receiver) {
        const s = await byType(receiver);
        r.inVideo = s.in_video;
        r.inAudio = s.in_audio;
        const pair = s.transport && s.byId[s.transport.selectedCandidatePairId];
        if (pair) {
          r.pair = { local: s.byId[pair.localCandidateId].candidateType, remote: s.byId[pair.remoteCandidateId].candidateType,
                     rtt: pair.currentRoundTripTime };
        }
        if (s.in_video) r.codecs = [s.byId[s.in_video.codecId] && s.byId[s.in_video.codecId].mimeType];
      }
      if (sender) {
        const s = await byType(sender);
        r.outVideo = s.out_video;
        r.outAudio = s.out_audio;
        r.remoteInVideo = s.remote_in_video;
        const pair = s.transport && s.byId[s.transport.selectedCandidatePairId];
        if (pair && !r.pair) {
          r.pair = { local: s.byId[pair.localCandidateId].candidateType, remote: s.byId[pair.remoteCandidateId].candidateType,
                     rtt: pair.currentRoundTripTime };
        }
        if (s.out_video && !r.codecs) r.codecs = [s.byId[s.out_video.codecId] && s.byId[s.out_video.codecId].mimeType];
      }
      if (resource) r.deleteStatus = (await fetch(resource, { method: 'DELETE' })).status;
      pcs.forEach((p) => p.close());
      r.ok = true;
      return r;
    }, mode, Number(callMs), turnUrl, user, pass, url || '');
    result.browser = version;
  } catch (e) {
    result.error = String(e);
  }
  fs.writeFileSync(resultPath, JSON.stringify(result, null, 2));
  await browser.close();
  server.close();
  process.exit(result.ok ? 0 : 1);
})().catch((e) => { console.error(e); process.exit(2); });
