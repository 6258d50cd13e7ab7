#!/usr/bin/env python3
"""flood.py - raw HTTP clients for tests/integration/flood.sh (plain sockets,
no extra packages).

  flood.py flood HOST PORT TOKEN DIR
      Phase "idle": 1,000 TCP connections from 127.0.0.1 and 1,000 from
      40 other loopback addresses (25 each), none of them sending a byte.
      Writes DIR/idle, then waits for DIR/go.  Phase "ws": 1,000 WebSocket
      handshakes (GET /api/v1/events, Upgrade) from 127.0.0.1 and 1,000 from
      40 other loopback addresses, all with TOKEN, 10 at a time; the
      accepted ones stay open.  Writes DIR/ws (JSON counts), waits for
      DIR/stop, then counts the idle connections the server closed and
      writes DIR/done (JSON).
  flood.py raw HOST PORT FILE [SECONDS]
      Send FILE's bytes (while reading), read the answer until the server
      closes; print "STATUS<TAB>CONTENT-TYPE<TAB>SECONDS" and the body to
      FILE.body.  STATUS 0: no answer.
  flood.py trickle HOST PORT FILE GAP [FIRST [answer]]
      Send FIRST's bytes at once (and, with "answer", read the answer to
      that whole request), then FILE's bytes one at a time, GAP seconds
      apart, on the same connection, until the server answers or closes;
      print "STATUS<TAB>SECONDS<TAB>BYTES_SENT" (seconds and bytes of FILE).
  flood.py pipeline HOST PORT FILE
      Send FILE (requests back to back), read until the server closes;
      print one line per answer: "STATUS CLOSE" (CLOSE: 1 if it said
      Connection: close) and its problem type if any.
  flood.py ws-silent HOST PORT TOKEN
      A WebSocket watcher that never answers pings: print "PINGS SECONDS",
      the pings it got and when the server closed it.
"""
import json
import os
import select
import socket
import sys
import threading
import time

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 1.3


def connect(host, port, src=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    return s


def spread():
    """40 loopback source addresses other than 127.0.0.1, 25 uses each."""
    return ["127.0.%d.%d" % (1 + i // 200, 2 + i % 200) for i in range(40)]


def idle_phase(host, port):
    socks, failed = [], 0
    sources = ["127.0.0.1"] * 1000 + [a for a in spread() for _ in range(25)]
    for src in sources:
        try:
            socks.append(connect(host, port, src, timeout=5))
        except OSError:
            failed += 1
    return socks, failed


def handshake(host, port, token, src, keep):
    """One WebSocket handshake: its status (0 = no answer)."""
    try:
        s = connect(host, port, src)
        s.sendall(("GET /api/v1/events HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (host, port, KEY, token)).encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            b = s.recv(4096)
            if not b:
                break
            head += b
        line = head.split(b"\r\n", 1)[0].split()
        status = int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
        if status == 503 and b"application/problem+json" not in head:
            status = -503  # a 503 that is not problem+json counts as "other"
        if status == 101:
            keep.append(s)
        else:
            s.close()
        return status
    except OSError as e:
        return -(e.errno or 1)


def ws_phase(host, port, token):
    keep, results, lock = [], {}, threading.Lock()
    jobs = [("local", "127.0.0.1")] * 1000 + [("spread", a) for a in spread() for _ in range(25)]

    def worker(part):
        for group, src in part:
            st = handshake(host, port, token, src, keep)
            with lock:
                k = "%s_%s" % (group, st if st in (101, 503) else "other")
                results[k] = results.get(k, 0) + 1
                if st not in (101, 503):
                    results.setdefault("other_statuses", []).append(st)

    # 10 at a time, the local ones first as the issue says
    for block in (jobs[:1000], jobs[1000:]):
        ts = [threading.Thread(target=worker, args=(block[i::10],)) for i in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return keep, results


def closed_by_server(socks):
    n = 0
    for s in socks:
        try:
            s.setblocking(False)
            if s.recv(1, socket.MSG_PEEK) == b"":
                n += 1
        except BlockingIOError:
            pass  # open, nothing to read
        except OSError:
            n += 1  # reset
    return n


def wait_for(path, limit=120):
    t0 = time.time()
    while not os.path.exists(path) and time.time() - t0 < limit:
        time.sleep(0.05)


def put(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)


def flood(host, port, token, d):
    t0 = time.time()
    idle, failed = idle_phase(host, port)
    put(os.path.join(d, "idle"), {"opened": len(idle), "failed": failed,
                                  "seconds": round(time.time() - t0, 2)})
    wait_for(os.path.join(d, "go"))
    t0 = time.time()
    keep, res = ws_phase(host, port, token)
    res["seconds"] = round(time.time() - t0, 2)
    put(os.path.join(d, "ws"), res)
    wait_for(os.path.join(d, "stop"))
    put(os.path.join(d, "done"), {"idle_closed_by_server": closed_by_server(idle),
                                  "ws_closed_by_server": closed_by_server(keep)})
    for s in idle + keep:
        s.close()


def read_answer(s, limit):
    s.settimeout(limit)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    return out


def parse(out):
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    first = lines[0].split()
    status = int(first[1]) if len(first) > 1 and first[1].isdigit() else 0
    ctype = ""
    for ln in lines[1:]:
        if ln.lower().startswith(b"content-type:"):
            ctype = ln.split(b":", 1)[1].strip().decode("latin1")
    return status, ctype, body


def raw(host, port, path, limit):
    data = open(path, "rb").read()
    s = connect(host, port)
    t0 = time.time()

    def send():
        try:
            s.sendall(data)
        except OSError:
            pass

    t = threading.Thread(target=send)
    t.start()
    out = read_answer(s, limit)
    dt = time.time() - t0
    t.join()
    status, ctype, body = parse(out)
    with open(path + ".body", "wb") as f:
        f.write(body)
    print("%d\t%s\t%.2f" % (status, ctype, dt))


def answer_of_first(s):
    """Read one answer with a Content-Length off a kept-alive connection."""
    out = b""
    while b"\r\n\r\n" not in out:
        out += s.recv(4096)
    head, _, body = out.partition(b"\r\n\r\n")
    n = 0
    for ln in head.split(b"\r\n"):
        if ln.lower().startswith(b"content-length:"):
            n = int(ln.split(b":", 1)[1])
    while len(body) < n:
        body += s.recv(4096)


def trickle(host, port, path, gap, first=None, answer=False):
    data = open(path, "rb").read()
    s = connect(host, port)
    if first:
        s.sendall(open(first, "rb").read())
        if answer:
            answer_of_first(s)
    t0, sent, out = time.time(), 0, b""
    s.setblocking(False)
    poller = select.poll()
    poller.register(s, select.POLLIN)
    while sent < len(data):
        try:
            s.send(data[sent:sent + 1])
            sent += 1
        except OSError:
            break
        if poller.poll(gap * 1000):
            break
    s.setblocking(True)
    out = read_answer(s, 30)
    status, _, _ = parse(out)
    print("%d\t%.2f\t%d" % (status, time.time() - t0, sent))


def pipeline(host, port, path):
    s = connect(host, port)
    s.sendall(open(path, "rb").read())
    out = read_answer(s, 10)
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        status, _, _ = parse(head + b"\r\n\r\n")
        n, close = 0, 0
        for ln in head.split(b"\r\n")[1:]:
            k, _, v = ln.partition(b":")
            if k.strip().lower() == b"content-length":
                n = int(v)
            if k.strip().lower() == b"connection" and v.strip().lower() == b"close":
                close = 1
        body, out = rest[:n], rest[n:]
        ptype = ""
        if body.startswith(b"{"):
            try:
                ptype = json.loads(body).get("type", "")
            except ValueError:
                pass
        print(status, close, ptype)


def ws_silent(host, port, token):
    keep = []
    t0 = time.time()
    if handshake(host, port, token, None, keep) != 101:
        print("0 0")
        return
    s, pings, buf = keep[0], 0, b""
    s.settimeout(60)
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        buf += b
        while len(buf) >= 2:  # server frames: unmasked, short here
            n = buf[1] & 0x7F
            if n > 125 or len(buf) < 2 + n:
                break
            if buf[0] & 0x0F == 0x9:
                pings += 1
            buf = buf[2 + n:]
    print(pings, "%.2f" % (time.time() - t0))


def main():
    cmd = sys.argv[1]
    host, port = sys.argv[2], int(sys.argv[3])
    if cmd == "flood":
        flood(host, port, sys.argv[4], sys.argv[5])
    elif cmd == "raw":
        raw(host, port, sys.argv[4], float(sys.argv[5]) if len(sys.argv) > 5 else 5)
    elif cmd == "pipeline":
        pipeline(host, port, sys.argv[4])
    elif cmd == "ws-silent":
        ws_silent(host, port, sys.argv[4])
    elif cmd == "trickle":
        trickle(host, port, sys.argv[4], float(sys.argv[5]),
                sys.argv[6] if len(sys.argv) > 6 else None,
                len(sys.argv) > 7 and sys.argv[7] == "answer")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
