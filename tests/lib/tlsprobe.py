#!/usr/bin/env python3
"""tlsprobe.py - raw TLS clients for tests/integration/tls.sh.

  tlsprobe.py garbage HOST PORT      a handshake record that is no ClientHello:
                                     prints the first byte the server answers
                                     (21 = a TLS alert) or "closed"
  tlsprobe.py half HOST PORT SECS    half a ClientHello, then silence: prints
                                     "closed" when the server ends it within SECS,
                                     else "open"
  tlsprobe.py stall HOST PORT SECS   a whole ClientHello, then nothing more (the
                                     handshake never ends): "closed" or "open"
  tlsprobe.py wss HOST PORT TOKEN CAFILE SECS
                                     a WebSocket handshake over TLS to
                                     /api/v1/events; prints the status line and the
                                     first frame's opcode, then holds the connection
                                     SECS seconds
"""
import base64
import os
import socket
import ssl
import sys
import time


def client_hello(host):
    """The bytes a real TLS client sends first (Python's ssl, in memory)."""
    ctx = ssl.create_default_context()
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inb, outb, server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outb.read()


def wait_closed(s, secs):
    s.settimeout(0.2)
    end = time.time() + secs
    while time.time() < end:
        try:
            if s.recv(4096) == b"":
                return "closed"
        except socket.timeout:
            continue
        except OSError:
            return "closed"
    return "open"


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.create_connection((host, port), timeout=10)
    if mode == "garbage":
        # a handshake record of TLS 1.2 whose message is a ServerHello (2)
        s.sendall(bytes([22, 3, 3, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0]))
        s.settimeout(10)
        try:
            b = s.recv(1)
            print(b[0] if b else "closed")
        except OSError:
            print("closed")
    elif mode == "half":
        hello = client_hello("localhost")
        s.sendall(hello[: len(hello) // 2])
        print(wait_closed(s, float(sys.argv[4])))
    elif mode == "stall":
        s.sendall(client_hello("localhost"))
        print(wait_closed(s, float(sys.argv[4])))
    elif mode == "wss":
        token, cafile, secs = sys.argv[4], sys.argv[5], float(sys.argv[6])
        ctx = ssl.create_default_context(cafile=cafile)
        t = ctx.wrap_socket(s, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode()
        t.sendall(("GET /api/v1/events?since=0 HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (host, port, key, token)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = t.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        while len(rest) < 1:
            chunk = t.recv(4096)
            if not chunk:
                break
            rest += chunk
        print(head.split(b"\r\n")[0].decode(), flush=True)
        print("opcode", rest[0] & 0x0F if rest else -1, flush=True)
        time.sleep(secs)
        t.close()


if __name__ == "__main__":
    main()
