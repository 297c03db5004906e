"""tern's aiortc (Debian python3-aiortc 1.4.0) test peer for tests/webrtc_peers.

    /usr/bin/python3 aiortc_peer.py <offer file> <seconds>

Answers the offer: prints the answer (with its candidates) and a line "END". Sends video (VP8 from
a VideoStreamTrack), counts the audio and video frames it decodes from tern, echoes every
data-channel message (the same text or bytes, so order is checkable), and after <seconds> prints
one JSON line with the counts and the connection state.
"""
import asyncio
import json
import sys

import aioice.ice

# The test runs on 127.0.0.1 alone, which aioice skips when it lists host addresses.
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]

from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack  # noqa: E402


async def main():
    offer_path, seconds = sys.argv[1], float(sys.argv[2])
    pc = RTCPeerConnection()
    counts = {"audio": 0, "video": 0}
    channel = {"received": 0, "echoed": 0}
    sizes = set()

    @pc.on("track")
    def on_track(track):
        async def consume():
            while True:
                try:
                    frame = await track.recv()
                except Exception:
                    return
                counts[track.kind] += 1
                if track.kind == "video":
                    sizes.add("%dx%d" % (frame.width, frame.height))

        asyncio.ensure_future(consume())

    @pc.on("datachannel")
    def on_datachannel(ch):
        @ch.on("message")
        def on_message(message):
            channel["received"] += 1
            ch.send(message)
            channel["echoed"] += 1

    with open(offer_path) as f:
        await pc.setRemoteDescription(RTCSessionDescription(f.read(), "offer"))
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createAnswer())
    print(pc.localDescription.sdp, flush=True)
    print("END", flush=True)
    await asyncio.sleep(seconds)
    result = {
        "peer": "aiortc",
        "state": pc.connectionState,
        "audio_frames": counts["audio"],
        "video_frames": counts["video"],
        "video_sizes": sorted(sizes),
        "dc_received": channel["received"],
        "dc_echoed": channel["echoed"],
    }
    print(json.dumps(result), flush=True)
    await pc.close()


asyncio.run(main())
