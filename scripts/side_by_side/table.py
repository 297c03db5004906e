#!/usr/bin/python3
"""The table of scripts/side-by-side.sh: reads OUT/run<i>/<pairing>/ (chromium.json from chromium.js,
tern-server.json / tern-client.json from tern-peer --stats-json, turn.json: tern-turn's counters)
and prints one Markdown table, the median over runs per pairing; also writes OUT/table.md.

Figures are the receiver's video inbound-rtp (webrtc-stats names, from Chromium's getStats or
tern-peer's get_stats) and the sender's video outbound-rtp, at the end of the call:
  frames         framesDecoded / the sender's framesSent
  fps            framesDecoded / the call's seconds from connected (so a slow start counts)
  resolution     the receiver's last frameWidth x frameHeight
  freezes        freezeCount and totalFreezesDuration (webrtc-stats: gap >= max(3 x mean, mean + 150 ms))
  jb ms          jitterBufferDelay / jitterBufferEmittedCount
  e2e ms         median capture-to-render delay (Chromium receiving: wall clock minus
                 estimatedPlayoutTimestamp, sampled every 500 ms; tern receiving: its receive stream's
                 capture-to-render delay of the last frame, every 100 ms; both from the sender's
                 RTCP sender reports, whose NTP time is this machine's wall clock on both ends)
  lost           packetsLost and its share of the expected packets. Not alike: Chromium counts RTX-repaired
                 packets as lost (only the media SSRC's arrivals count), tern counts them as received
                 (duplicates can make it negative)
  NACKs          the receiver's nackCount (NACK messages sent)
  RTX            the sender's retransmittedPacketsSent / the receiver's retransmittedPacketsReceived
                 (Chromium's received count includes RTX padding, its bandwidth probes)
  PLI            the receiver's pliCount
  kbps           received video bytes x 8 / call seconds
  connect ms     from creating the offer (Chromium: after its camera opened; tern client: from its POST) to
                 connected (ICE + DTLS)
  asm ms         Chromium receivers only: totalAssemblyTime / framesAssembledFromMultiplePackets (first to
                 last packet of a frame: the sender's pacing, the bottleneck's serialization, repairs)
  SRTP refused   tern senders only: packets SRTP refused to protect (tern-peer's srtpProtectFailures; they
                 are counted as sent by the RTP layer but never reach the wire)
  tx             the sender at the end: targetBitrate (kbit/s), its last encoded size, and
                 qualityLimitationReason

A second table gives the receiver's audio inbound-rtp and the sender's audio outbound-rtp:
  concealed      concealedSamples / totalSamplesReceived (%), and concealmentEvents
  lost           packetsLost and its share of the expected packets (audio has no retransmissions)
  jb ms          jitterBufferDelay / jitterBufferEmittedCount (per sample)
  FEC            Chromium receivers: fecPacketsReceived (packets carrying Opus in-band FEC, LBRR, or RED
                 copies); tern receivers: ternFecPacketsRecovered (lost packets rebuilt from the next one's
                 LBRR) / fecPacketsReceived (RED copies)
  e2e ms         Chromium receivers only: median of wall clock minus the audio's estimatedPlayoutTimestamp,
                 sampled every 500 ms (tern-peer measures audio's delay to playout only as ternSyncDelay)
  kbps           received audio bytes x 8 / call seconds; target: the sender's targetBitrate
"""
import argparse
import json
import os
import statistics
import sys

NAMES = {"c2c": "Chromium -> Chromium", "c2t": "Chromium -> tern", "t2c": "tern -> Chromium", "t2t": "tern -> tern"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tern_rtp(doc, kind, direction):
    """The video inbound-/outbound-rtp of the (only) session of a tern-peer stats file."""
    if not doc or not doc.get("sessions"):
        return None, None
    session = doc["sessions"][-1]
    for s in (session.get("media") or {}).values():
        if s.get("type") == direction + "-rtp" and s.get("kind") == kind:
            return s, session
    return None, session


def figures(dir_, pairing):
    """One run of one pairing -> dict of figures (None where missing)."""
    chromium = load(os.path.join(dir_, "chromium.json"))
    server = load(os.path.join(dir_, "tern-server.json"))
    client = load(os.path.join(dir_, "tern-client.json"))
    f = {"error": None}
    inbound = outbound = None
    e2e = []
    call_s = None
    if chromium is not None and not chromium.get("ok"):
        f["error"] = chromium.get("error") or "Chromium failed"
    if chromium is not None and chromium.get("callMs"):
        call_s = chromium["callMs"] / 1000.0
    if pairing in ("c2c", "t2c") and chromium:
        inbound = chromium.get("inVideo")
        e2e = chromium.get("e2eMs") or []
    if pairing in ("c2c", "c2t") and chromium:
        outbound = chromium.get("outVideo")
    if pairing == "c2t":
        inbound, session = tern_rtp(server, "video", "inbound")
        if session and session.get("videoE2eDelayMs"):
            f["e2e_ms"] = session["videoE2eDelayMs"]["p50"]
    if pairing in ("t2c", "t2t"):
        outbound, session = tern_rtp(server, "video", "outbound")
        if session:
            f["srtp_refused"] = session.get("counters", {}).get("srtpProtectFailures")
    if pairing == "t2t":
        inbound, session = tern_rtp(client, "video", "inbound")
        if session:
            if session.get("videoE2eDelayMs"):
                f["e2e_ms"] = session["videoE2eDelayMs"]["p50"]
            if client.get("durationS") and session.get("postToConnectedMs", -1) >= 0:
                call_s = client["durationS"] - session["postToConnectedMs"] / 1000.0
            if session.get("connectionState") != "connected":
                f["error"] = "tern client: " + str(session.get("connectionState"))
        else:
            f["error"] = "tern client: no stats"
    if e2e:
        f["e2e_ms"] = statistics.median(e2e)
    if inbound is None:
        f["error"] = f["error"] or "no received video"
        return f
    i, o = inbound, outbound or {}
    decoded = i.get("framesDecoded", 0)
    f["decoded"] = decoded
    f["sent"] = o.get("framesSent", o.get("framesEncoded"))
    f["fps"] = decoded / call_s if call_s else None
    f["resolution"] = "%sx%s" % (i.get("frameWidth", 0), i.get("frameHeight", 0))
    f["freezes"] = i.get("freezeCount")
    f["freeze_s"] = i.get("totalFreezesDuration")
    emitted = i.get("jitterBufferEmittedCount", 0)
    f["jb_ms"] = 1000.0 * i.get("jitterBufferDelay", 0) / emitted if emitted else None
    lost, received = i.get("packetsLost", 0), i.get("packetsReceived", 0)
    f["lost"] = lost
    f["lost_pct"] = 100.0 * lost / (lost + received) if lost + received > 0 else None
    f["nacks"] = i.get("nackCount")
    f["rtx_sent"] = o.get("retransmittedPacketsSent")
    f["rtx_received"] = i.get("retransmittedPacketsReceived")
    f["pli"] = i.get("pliCount")
    f["kbps"] = 8.0 * i.get("bytesReceived", 0) / call_s / 1000.0 if call_s else None
    multi = i.get("framesAssembledFromMultiplePackets")
    f["asm_ms"] = 1000.0 * i.get("totalAssemblyTime", 0) / multi if multi else None
    f["target_kbps"] = o["targetBitrate"] / 1000.0 if o.get("targetBitrate") else None
    f["tx"] = "%sx%s %s" % (o.get("frameWidth", "?"), o.get("frameHeight", "?"), o.get("qualityLimitationReason", "?"))
    f["connect_ms"] = (chromium or {}).get("connectMs")
    if pairing == "t2t" and client and client.get("sessions"):
        f["connect_ms"] = client["sessions"][-1].get("postToConnectedMs")
    return f


def audio_figures(dir_, pairing):
    """One run of one pairing -> the audio figures (None where missing)."""
    chromium = load(os.path.join(dir_, "chromium.json"))
    server = load(os.path.join(dir_, "tern-server.json"))
    client = load(os.path.join(dir_, "tern-client.json"))
    f = {}
    call_s = chromium["callMs"] / 1000.0 if chromium and chromium.get("callMs") else None
    inbound = outbound = None
    if pairing in ("c2c", "t2c") and chromium:
        inbound = chromium.get("inAudio")
        if chromium.get("audioE2eMs"):
            f["e2e_ms"] = statistics.median(chromium["audioE2eMs"])
    if pairing in ("c2c", "c2t") and chromium:
        outbound = chromium.get("outAudio")
    if pairing == "c2t":
        inbound, _ = tern_rtp(server, "audio", "inbound")
    if pairing in ("t2c", "t2t"):
        outbound, _ = tern_rtp(server, "audio", "outbound")
    if pairing == "t2t":
        inbound, session = tern_rtp(client, "audio", "inbound")
        if session and client.get("durationS") and session.get("postToConnectedMs", -1) >= 0:
            call_s = client["durationS"] - session["postToConnectedMs"] / 1000.0
    if inbound is None:
        return f
    i, o = inbound, outbound or {}
    samples = i.get("totalSamplesReceived", 0)
    f["concealed_pct"] = 100.0 * i.get("concealedSamples", 0) / samples if samples else None
    f["events"] = i.get("concealmentEvents")
    lost, received = i.get("packetsLost", 0), i.get("packetsReceived", 0)
    f["lost"] = lost
    f["lost_pct"] = 100.0 * lost / (lost + received) if lost + received > 0 else None
    emitted = i.get("jitterBufferEmittedCount", 0)
    f["jb_ms"] = 1000.0 * i.get("jitterBufferDelay", 0) / emitted if emitted else None
    if "ternFecPacketsRecovered" in i or pairing in ("c2t", "t2t"):
        f["fec"] = "%s / %s" % (i.get("ternFecPacketsRecovered", "-"), i.get("fecPacketsReceived", "-"))
    else:
        f["fec"] = i.get("fecPacketsReceived")
    f["kbps"] = 8.0 * i.get("bytesReceived", 0) / call_s / 1000.0 if call_s else None
    f["target_kbps"] = o["targetBitrate"] / 1000.0 if o.get("targetBitrate") else None
    return f


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    if v is None:
        return "-"
    return ("%%.%df" % digits) % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--pairings", default="c2c,c2t,t2c,t2t")
    ap.add_argument("--impairment", default="")
    ap.add_argument("--chromium-video", default="fake")
    a = ap.parse_args()
    header = ["pairing", "frames decoded / sent", "fps", "resolution", "freezes (n / s)", "jb ms", "e2e ms",
              "lost (pkts, %)", "NACKs", "RTX sent / rcvd", "PLI", "kbps", "asm ms", "SRTP refused", "tx", "connect ms"]
    rows = []
    per_run = []
    problems = []

    def row(name, fs):
        good = [f for f in fs if "decoded" in f]
        m = {k: median([f.get(k) for f in good]) for k in
             ("decoded", "sent", "fps", "freezes", "freeze_s", "jb_ms", "e2e_ms", "lost", "lost_pct", "nacks",
              "rtx_sent", "rtx_received", "pli", "kbps", "asm_ms", "srtp_refused", "target_kbps", "connect_ms")}
        res = [f["resolution"] for f in good]
        resolution = max(set(res), key=res.count) if res else "-"
        tx = [f["tx"] for f in good]
        tx = max(set(tx), key=tx.count) if tx else "-"
        return [name, "%s / %s" % (fmt(m["decoded"]), fmt(m["sent"])), fmt(m["fps"], 1), resolution,
                "%s / %s" % (fmt(m["freezes"]), fmt(m["freeze_s"], 2)), fmt(m["jb_ms"]), fmt(m["e2e_ms"]),
                "%s, %s" % (fmt(m["lost"]), fmt(m["lost_pct"], 1)), fmt(m["nacks"]),
                "%s / %s" % (fmt(m["rtx_sent"]), fmt(m["rtx_received"])), fmt(m["pli"]), fmt(m["kbps"]),
                fmt(m["asm_ms"]), fmt(m["srtp_refused"]), "%s, %s" % (fmt(m["target_kbps"]), tx), fmt(m["connect_ms"])]

    for p in a.pairings.split(","):
        runs = [figures(os.path.join(a.out, "run%d" % r, p), p) for r in range(1, a.runs + 1)]
        for r, f in enumerate(runs, 1):
            if f["error"]:
                problems.append("%s run %d: %s" % (NAMES.get(p, p), r, f["error"]))
            per_run.append(row("%s, run %d" % (NAMES.get(p, p), r), [f]))
        rows.append(row(NAMES.get(p, p), runs))
    lines = []
    if a.impairment:
        lines.append("%s%s" % (a.impairment, "; median of %d runs" % a.runs if a.runs > 1 else ""))
        lines.append("")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    if a.runs > 1:
        lines.append("")
        lines.append("Each run:")
        lines.append("")
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for r in per_run:
            lines.append("| " + " | ".join(r) + " |")
    lines.append("")
    lines.append("Video, the receiver's view (webrtc-stats). Audio (Opus), the receiver's view:")
    lines.append("")
    aheader = ["pairing", "concealed (%, events)", "lost (pkts, %)", "jb ms", "FEC pkts", "e2e ms", "kbps (target)"]
    lines.append("| " + " | ".join(aheader) + " |")
    lines.append("|" + "|".join("---" for _ in aheader) + "|")
    for p in a.pairings.split(","):
        fs = [audio_figures(os.path.join(a.out, "run%d" % r, p), p) for r in range(1, a.runs + 1)]
        m = {k: median([f.get(k) for f in fs]) for k in
             ("concealed_pct", "events", "lost", "lost_pct", "jb_ms", "e2e_ms", "kbps", "target_kbps")}
        fec = [f.get("fec") for f in fs if f.get("fec") is not None]
        m["fec"] = (median(fec) if all(not isinstance(v, str) for v in fec) else fec[len(fec) // 2]) if fec else None
        lines.append("| " + " | ".join([NAMES.get(p, p), "%s, %s" % (fmt(m["concealed_pct"], 2), fmt(m["events"])),
                                        "%s, %s" % (fmt(m["lost"]), fmt(m["lost_pct"], 1)), fmt(m["jb_ms"]), m["fec"] if isinstance(m["fec"], str) else fmt(m["fec"]),
                                        fmt(m["e2e_ms"]), "%s (%s)" % (fmt(m["kbps"]), fmt(m["target_kbps"]))]) + " |")
    lines.append("")
    if a.chromium_video == "fake":
        lines.append("Content differs: Chromium sends its fake camera (--use-fake-device-for-media-stream: a mostly static")
        lines.append("green picture with a moving pie and a frame counter, ~20 fps whatever is asked), tern its synthetic")
        lines.append("camera (a panning texture with a gradient and bouncing striped objects, 640x360@30): the encoders' rate")
        lines.append("needs differ, so compare receivers on one sender (Chromium -> Chromium vs Chromium -> tern) and senders")
        lines.append("on one receiver only with that in mind.")
    else:
        lines.append("Same content: Chromium's camera plays tern's synthetic camera pictures (a panning texture with a gradient")
        lines.append("and bouncing striped objects, 640x360@30, written by tern-send --source-y4m; other seeds than tern-peer's")
        lines.append("own camera, same kind), so all four senders encode the same kind of picture.")
    for p in problems:
        lines.append("problem: " + p)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
