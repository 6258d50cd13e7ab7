#!/usr/bin/env python3
"""pxeclient.py - the DHCP half of a PXE boot ROM, for tests in a network
namespace.  It broadcasts a DISCOVER with a PXE vendor class (option 60),
takes the first OFFER that carries an address (a ProxyDHCP offer carries
none), REQUESTs that address from its server (broadcast, options 50 and
54, RFC 2131 4.3.2), waits for the ACK and prints the address.

  pxeclient.py --iface eth0 [--mac 52:54:00:..] [--timeout 5]
  pxeclient.py --iface eth0 --mac M --request IP --server S [--sport N]
               [--dest ADDR] [--ciaddr]          (one REQUEST, no wait)

--request sends a single REQUEST naming IP as the client's (option 50, and
ciaddr too with --ciaddr), which is what a machine forging another one's
exchange would send: from port 68 (root) or --sport N (any program), to the
broadcast address or --dest.  Exit 0 on success.
"""
import argparse
import random
import select
import socket
import struct
import sys
import time

VENDOR = b"PXEClient:Arch:00000:UNDI:002001"
MAGIC = b"\x63\x82\x53\x63"


def iface_mac(iface):
    with open(f"/sys/class/net/{iface}/address") as f:
        return f.read().strip()


def packet(mac, xid, mtype, opts, ciaddr=bytes(4)):
    hdr = struct.pack("!BBBBIHH4s4s4s4s", 1, 1, 6, 0, xid, 0, 0x8000,
                      ciaddr, bytes(4), bytes(4), bytes(4))
    chaddr = bytes.fromhex(mac.replace(":", "")).ljust(16, b"\0")
    body = hdr + chaddr + bytes(64) + bytes(128) + MAGIC
    body += bytes([53, 1, mtype, 60, len(VENDOR)]) + VENDOR
    for code, val in opts:
        body += bytes([code, len(val)]) + val
    return body + b"\xff"


def parse(data, xid):
    if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid:
        return None
    if data[236:240] != MAGIC:
        return None
    yiaddr = socket.inet_ntoa(data[16:20])
    opts, i = {}, 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        if i + 1 >= len(data):
            break
        code, n = data[i], data[i + 1]
        opts[code] = data[i + 2:i + 2 + n]
        i += 2 + n
    return yiaddr, opts


def sock(iface, port=68):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    if port == 68:  # the way a DHCP client sends; needs root, as it does
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", port))
    return s


def wait_for(s, xid, want, deadline, accept):
    while time.time() < deadline:
        r, _, _ = select.select([s], [], [], max(0.0, deadline - time.time()))
        if not r:
            break
        p = parse(s.recv(2048), xid)
        if p and p[1].get(53) == bytes([want]) and accept(p):
            return p
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--mac")
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--request")
    ap.add_argument("--server")
    ap.add_argument("--sport", type=int, default=68)
    ap.add_argument("--dest", default="255.255.255.255")
    ap.add_argument("--ciaddr", action="store_true")
    a = ap.parse_args()
    mac = a.mac or iface_mac(a.iface)
    xid = random.getrandbits(32)
    s = sock(a.iface, a.sport)
    dest = (a.dest, 67)
    if a.request:
        ip = socket.inet_aton(a.request)
        s.sendto(packet(mac, xid, 3, [(50, ip), (54, socket.inet_aton(a.server))],
                        ip if a.ciaddr else bytes(4)), dest)
        return 0
    deadline = time.time() + a.timeout
    s.sendto(packet(mac, xid, 1, []), dest)
    offer = wait_for(s, xid, 2, deadline, lambda p: p[0] != "0.0.0.0" and 54 in p[1])
    if not offer:
        print("pxeclient: no offer with an address", file=sys.stderr)
        return 1
    ip, server = offer[0], offer[1][54]
    s.sendto(packet(mac, xid, 3, [(50, socket.inet_aton(ip)), (54, server)]), dest)
    ack = wait_for(s, xid, 5, deadline, lambda p: p[0] == ip)
    if not ack:
        print("pxeclient: no ACK for " + ip, file=sys.stderr)
        return 1
    print(ip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
