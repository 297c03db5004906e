// Captures one Chromium offer (audio + video from the fake devices + a data channel), candidates gathered.
const http = require('http');
const puppeteer = require('puppeteer-core');
(async () => {
  const server = http.createServer((q, r) => { r.writeHead(200, {'content-type': 'text/html'}); r.end('<html></html>'); });
  await new Promise((r) => server.listen(8080, '127.0.0.1', r));
  const browser = await puppeteer.launch({ executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless=new', '--no-sandbox', '--allow-loopback-in-peer-connection',
           '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--disable-gpu', '--no-first-run'] });
  console.error('browser', await browser.version());
  const page = await browser.newPage();
  await page.goto('http://127.0.0.1:8080/');
  const sdp = await page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    s.getTracks().forEach((t) => pc.addTrack(t, s));
    pc.createDataChannel('chat');
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 3000); });
    return pc.localDescription.sdp;
  });
  process.stdout.write(sdp);
  await browser.close(); server.close();
})().catch((e) => { console.error(e); process.exit(2); });
