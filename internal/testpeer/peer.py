"""Real libzmq peers for hark's tests, driven over stdin/stdout.

Every line in and out is one JSON object; frames travel as base64 so tests
can send bytes that are not valid UTF-8. Modes:

  pub ENDPOINT|- [HWM]   bind a PUB (random port with "-"), print {"port": N};
                         then per input line {"frames": [...]} send one
                         message, {"ring": [[...], ...], "burst": N} send N
                         messages cycling through the ring; answer {"ok": n}.
  sub ENDPOINT bind|connect TOPIC
                         print {"ready": true}, then one {"frames": [...]}
                         line per message received.
  rep STOREFILE          bind a REP on a random port, print {"port": N}, and
                         answer fedmsg replay queries from the store (one
                         envelope per line) as fedmsg.replay does: one frame
                         per matching envelope, or "error: '...'"; each
                         query is echoed as {"query": ...}.
"""
import base64
import json
import sys

import zmq


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def frames_in(frames):
    return [base64.b64decode(f) for f in frames]


def frames_out(frames):
    return [base64.b64encode(f).decode("ascii") for f in frames]


def pub(ctx, endpoint, hwm):
    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, hwm)
    sock.setsockopt(zmq.LINGER, 0)
    if endpoint == "-":
        port = sock.bind_to_random_port("tcp://127.0.0.1")
    else:
        sock.bind(endpoint)
        port = int(endpoint.rsplit(":", 1)[1])
    out({"port": port})
    for line in sys.stdin:
        cmd = json.loads(line)
        if "ring" in cmd:
            ring = [frames_in(m) for m in cmd["ring"]]
            n = cmd["burst"]
            for i in range(n):
                sock.send_multipart(ring[i % len(ring)])
            out({"ok": n})
        else:
            sock.send_multipart(frames_in(cmd["frames"]))
            out({"ok": 1})


def sub(ctx, endpoint, how, topic):
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, topic.encode("utf-8"))
    getattr(sock, how)(endpoint)
    out({"ready": True})
    while True:
        out({"frames": frames_out(sock.recv_multipart())})


def rep(ctx, storefile):
    with open(storefile) as f:
        store = [json.loads(line) for line in f if line.strip()]
    sock = ctx.socket(zmq.REP)
    port = sock.bind_to_random_port("tcp://127.0.0.1")
    out({"port": port})
    while True:
        query = json.loads(sock.recv().decode("utf-8"))
        out({"query": query})
        lo, hi = query.get("seq_id_range", (None, None))
        found = sorted((m for m in store
                        if lo is not None and lo <= m.get("seq_id", -1) <= hi),
                       key=lambda m: m["seq_id"])
        if not found:
            sock.send(b"error: 'There was no match for the given query'")
            continue
        sock.send_multipart([json.dumps(m).encode("utf-8") for m in found])


def main():
    ctx = zmq.Context()
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "pub":
        pub(ctx, args[0], int(args[1]) if len(args) > 1 else 1000)
    elif mode == "sub":
        sub(ctx, args[0], args[1], args[2])
    elif mode == "rep":
        rep(ctx, args[0])
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
