# aiortc offerer: prints one offer with audio + video + a data channel, candidates gathered.
import asyncio
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

async def main():
    pc = RTCPeerConnection()
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    pc.createDataChannel("chat")
    await pc.setLocalDescription(await pc.createOffer())
    print(pc.localDescription.sdp, end="")
    await pc.close()

asyncio.run(main())
