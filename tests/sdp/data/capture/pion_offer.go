// pion offerer: prints one offer with audio + video + a data channel, candidates gathered.
package main

import (
	"fmt"

	"github.com/pion/interceptor"
	webrtc "github.com/pion/webrtc"
)

func main() {
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		panic(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		panic(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		panic(err)
	}
	a, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "pion")
	v, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "pion")
	if _, err = pc.AddTrack(a); err != nil {
		panic(err)
	}
	if _, err = pc.AddTrack(v); err != nil {
		panic(err)
	}
	if _, err = pc.CreateDataChannel("chat", nil); err != nil {
		panic(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		panic(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err = pc.SetLocalDescription(offer); err != nil {
		panic(err)
	}
	<-done
	fmt.Print(pc.LocalDescription().SDP)
	pc.Close()
}
