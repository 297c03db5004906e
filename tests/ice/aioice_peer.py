# aioice peer for tests/ice/aioice_interop_test.cpp: one ICE connection over host candidates on
# 127.0.0.1 (or over a TURN relay), then an echo of every datagram received.
#
#   aioice_peer.py <controlling|controlled> <remote.json> <echo-count> <timeout-seconds>
#                  [tie-breaker|-] [turn-host:port:username:password]
#
# With a TURN server, aioice allocates on it (transport_policy RELAY) and only its relay candidates
# are printed: tern never learns aioice's host address. aioice still pairs its host socket with
# tern's candidates (its RELAY policy only hides host candidates); the test's TURN server relays
# from another loopback address than the host sockets use, so those checks find no permission.
#
# remote.json holds {"ufrag", "pwd", "candidates": [SDP candidate attribute values]} (tern's side).
# Standard output carries JSON lines, each flushed at once:
#   {"ufrag", "pwd", "candidates", "tie_breaker"}   the local description, before connecting
#   {"connected": true, "ms": <connect() duration>, "local": "ip:port", "remote": "ip:port",
#    "controlling": <role after any role conflict>}
#   {"echoed": <n>}                                 after n datagrams were echoed
# or {"error": "..."} on failure (exit status 1).
import asyncio
import json
import sys
import time

import aioice.ice

# aioice leaves 127.0.0.1 out of its host addresses: this test runs on loopback only, so the
# address list is replaced by loopback alone (IPv4; no IPv6 candidate is offered).
aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]


def emit(obj):
    print(json.dumps(obj), flush=True)


async def run(role, remote, count, limit, tie_breaker, turn):
    options = {}
    if turn is not None:
        host, port, username, password = turn.split(":")
        options = dict(turn_server=(host, int(port)), turn_username=username, turn_password=password,
                       transport_policy=aioice.ice.TransportPolicy.RELAY)
    conn = aioice.Connection(ice_controlling=(role == "controlling"), use_ipv6=False, **options)
    if tie_breaker is not None:  # aioice draws it at random; a role-conflict test fixes it
        conn._tie_breaker = tie_breaker
    await conn.gather_candidates()
    emit({
        "ufrag": conn.local_username,
        "pwd": conn.local_password,
        "candidates": [c.to_sdp() for c in conn.local_candidates if turn is None or c.type == "relay"],
        "tie_breaker": str(conn._tie_breaker),
    })
    conn.remote_username = remote["ufrag"]
    conn.remote_password = remote["pwd"]
    for sdp in remote["candidates"]:
        await conn.add_remote_candidate(aioice.Candidate.from_sdp(sdp))
    await conn.add_remote_candidate(None)  # end-of-candidates
    start = time.monotonic()
    await asyncio.wait_for(conn.connect(), limit)
    pair = conn._nominated[1]
    local = pair.protocol.local_candidate
    emit({
        "connected": True,
        "ms": round((time.monotonic() - start) * 1000.0, 1),
        "local": "%s:%d" % (local.host, local.port),
        "local_type": local.type,
        "remote": "%s:%d" % (pair.remote_addr[0], pair.remote_addr[1]),
        "controlling": conn.ice_controlling,
    })
    echoed = 0
    while echoed < count:
        data = await asyncio.wait_for(conn.recv(), limit)
        await conn.send(data)
        echoed += 1
    emit({"echoed": echoed})
    await conn.close()


def main():
    role, remote_path, count, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    tie_breaker = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] != "-" else None
    turn = sys.argv[6] if len(sys.argv) > 6 else None
    with open(remote_path) as f:
        remote = json.load(f)
    try:
        asyncio.run(run(role, remote, count, limit, tie_breaker, turn))
    except Exception as e:  # reported to the test, which prints it
        emit({"error": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)


if __name__ == "__main__":
    main()
