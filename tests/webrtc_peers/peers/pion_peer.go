// tern's pion (Go, pion/webrtc v3 from Debian) test peer for tests/webrtc_peers.
//
//	pion_peer answer <offer file> <seconds> <ivf file>   reads the offer, prints the answer
//	pion_peer offer  <answer file> <seconds> <ivf file>  prints an offer, waits for the answer file
//
// The description printed carries every candidate (gathering completes first), then a line "END".
// The peer sends VP8 (the IVF file's frames, looped at 30 fps) on its video transceiver, counts the
// RTP packets and frames (marker bits) it receives per kind, echoes every data-channel message
// (the same bytes, so order is checkable) and after <seconds> prints one JSON line with the counts.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	webrtc "github.com/pion/webrtc"
	"github.com/pion/webrtc/pkg/media"
	"github.com/pion/webrtc/pkg/media/ivfreader"
)

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "pion_peer:", err)
		os.Exit(2)
	}
}

// Loads every frame of an IVF file (a few seconds of VP8): sent in a loop.
func loadIvf(path string) [][]byte {
	f, err := os.Open(path)
	fail(err)
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	fail(err)
	var frames [][]byte
	for len(frames) < 1000 {
		frame, _, err := r.ParseNextFrame()
		if err == io.EOF {
			break
		}
		fail(err)
		frames = append(frames, frame)
	}
	if len(frames) == 0 {
		fail(fmt.Errorf("%s has no frames", path))
	}
	return frames
}

func main() {
	if len(os.Args) != 5 || (os.Args[1] != "answer" && os.Args[1] != "offer") {
		fail(fmt.Errorf("usage: pion_peer answer|offer <sdp file> <seconds> <ivf file>"))
	}
	offering := os.Args[1] == "offer"
	secs, err := strconv.Atoi(os.Args[3])
	fail(err)
	frames := loadIvf(os.Args[4])

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true) // host candidates on 127.0.0.1, the only interface it uses
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	m := &webrtc.MediaEngine{}
	fail(m.RegisterDefaultCodecs())
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	fail(err)

	var packets, frameCount [2]int64 // audio, video
	var dcReceived, dcEchoed, videoSent int64
	codecs := map[string]string{}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		idx := 0
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			idx = 1
		}
		codecs[t.Kind().String()] = t.Codec().MimeType
		for {
			p, _, err := t.ReadRTP()
			if err != nil {
				return
			}
			atomic.AddInt64(&packets[idx], 1)
			if p.Marker || idx == 0 {
				atomic.AddInt64(&frameCount[idx], 1)
			}
		}
	})
	echo := func(d *webrtc.DataChannel) {
		d.OnMessage(func(msg webrtc.DataChannelMessage) {
			atomic.AddInt64(&dcReceived, 1)
			var err error
			if msg.IsString {
				err = d.SendText(string(msg.Data))
			} else {
				err = d.Send(msg.Data)
			}
			if err == nil {
				atomic.AddInt64(&dcEchoed, 1)
			}
		})
	}
	pc.OnDataChannel(echo)
	state := webrtc.PeerConnectionStateNew
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { state = s })

	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "pion")
	fail(err)
	if offering {
		// What tern answers: audio and video both ways, and a data channel (tern echoes too).
		_, err = pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio)
		fail(err)
		d, err := pc.CreateDataChannel("pion", nil)
		fail(err)
		echo(d)
	} else {
		offer, err := os.ReadFile(os.Args[2])
		fail(err)
		fail(pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(offer)}))
	}
	sender, err := pc.AddTrack(video)
	fail(err)
	go func() { // RTCP from tern (the interceptors need it read)
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()

	var local webrtc.SessionDescription
	if offering {
		local, err = pc.CreateOffer(nil)
	} else {
		local, err = pc.CreateAnswer(nil)
	}
	fail(err)
	gathered := webrtc.GatheringCompletePromise(pc)
	fail(pc.SetLocalDescription(local))
	<-gathered
	fmt.Print(pc.LocalDescription().SDP)
	fmt.Println("END")

	if offering { // the test writes the answer file (renamed into place: complete when it exists)
		var answer []byte
		for i := 0; i < 500 && answer == nil; i++ {
			if b, err := os.ReadFile(os.Args[2]); err == nil {
				answer = b
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
		if answer == nil {
			fail(fmt.Errorf("no answer in %s", os.Args[2]))
		}
		fail(pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}))
	}

	end := time.Now().Add(time.Duration(secs) * time.Second)
	ticker := time.NewTicker(33 * time.Millisecond)
	for time.Now().Before(end) {
		<-ticker.C
		if state != webrtc.PeerConnectionStateConnected {
			continue
		}
		if err := video.WriteSample(media.Sample{Data: frames[videoSent%int64(len(frames))], Duration: 33 * time.Millisecond}); err == nil {
			videoSent++
		}
	}
	ticker.Stop()
	result, _ := json.Marshal(map[string]interface{}{
		"peer": "pion", "state": state.String(), "audio_packets": atomic.LoadInt64(&packets[0]),
		"video_packets": atomic.LoadInt64(&packets[1]), "video_frames": atomic.LoadInt64(&frameCount[1]),
		"audio_codec": codecs["audio"], "video_codec": codecs["video"], "video_frames_sent": videoSent,
		"dc_received": atomic.LoadInt64(&dcReceived), "dc_echoed": atomic.LoadInt64(&dcEchoed),
	})
	fmt.Println(string(result))
	pc.Close()
}
