#!/usr/bin/env python3
"""lifecycles.py PORT run KIND...  - runs each connection lifecycle once
   against 127.0.0.1:PORT, to its end, and prints "KIND ok" or "KIND FAIL why".
lifecycles.py PORT hold N SECONDS - opens N silent and N idle keep-alive
   connections, prints "held" once they are all open, keeps them SECONDS.

The lifecycles a server meets in real traffic, each of which must leave a
worker's idea of busy, idle and load where it found it (docs/serve.md,
"What each connection does to a model"):

  empty      connect, close without a byte (a TCP health check, a preconnect)
  rst        connect, reset without a byte (SO_LINGER 0: RST instead of FIN)
  rst_head   half a request head, then a reset
  rst_run    a whole request to /sleep, reset while it runs
  halfclose  a whole request, then shutdown(SHUT_WR); the answer still comes
  keepalive  two requests on one connection, idle between them, then close
  slowhead   a request head dripped over about half a second
  slowbody   a GET whose 2,000-byte body is dripped over about half a second
  pipelined  three requests in one write, three answers
  aborted    a whole request to /sleep, then close (FIN) before the answer
  synonly    a bare SYN from a raw socket whose handshake never completes
             (a half-open port scan); needs root
"""
import random
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
REQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"


def connect(port):
    s = socket.create_connection((HOST, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def read_answers(s, n):
    """Reads until n responses (each with Content-Length) have arrived."""
    buf, got = b"", 0
    while got < n:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("closed after %d of %d answers" % (got, n))
        buf += chunk
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            if len(buf) < end + 4 + length:
                break
            if not head.startswith("http/1.1 200"):
                raise RuntimeError("answer: " + head.split("\r\n")[0])
            buf = buf[end + 4 + length:]
            got += 1


def drip(s, data, seconds):
    step = seconds / len(data)
    for i in range(len(data)):
        s.sendall(data[i:i + 1])
        time.sleep(step)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while v >> 16:
        v = (v & 0xFFFF) + (v >> 16)
    return ~v & 0xFFFF


def synonly(port):
    # Our kernel has no socket for the source port: it answers the server's
    # SYN-ACK with a reset, and the server's half-open request is dropped.
    sport = random.randint(40000, 60000)
    hdr = struct.pack("!HHIIBBHHH", sport, port, random.getrandbits(32), 0, 5 << 4, 0x02, 65535, 0, 0)
    pseudo = socket.inet_aton(HOST) * 2 + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(hdr))
    hdr = hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    r.sendto(hdr, (HOST, 0))
    r.close()
    time.sleep(0.05)


def run(port, kind):
    if kind == "synonly":
        synonly(port)
        return
    s = connect(port)
    try:
        if kind == "empty":
            s.close()
        elif kind == "rst":
            reset(s)
        elif kind == "rst_head":
            s.sendall(b"GET / HTTP/1.1\r\nHo")
            time.sleep(0.05)
            reset(s)
        elif kind == "rst_run":
            s.sendall(b"GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(0.03)
            reset(s)
        elif kind == "halfclose":
            s.sendall(REQ)
            s.shutdown(socket.SHUT_WR)
            read_answers(s, 1)
        elif kind == "keepalive":
            s.sendall(REQ)
            read_answers(s, 1)
            time.sleep(0.2)
            s.sendall(REQ)
            read_answers(s, 1)
        elif kind == "slowhead":
            drip(s, REQ, 0.5)
            read_answers(s, 1)
        elif kind == "slowbody":
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n")
            drip(s, b"x" * 2000, 0.5)
            read_answers(s, 1)
            s.sendall(REQ)  # the connection is usable after the body
            read_answers(s, 1)
        elif kind == "pipelined":
            s.sendall(REQ * 3)
            read_answers(s, 3)
        elif kind == "aborted":
            s.sendall(b"GET /sleep?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n")
            time.sleep(0.03)
        else:
            raise RuntimeError("unknown lifecycle " + kind)
    finally:
        s.close()


def main():
    port, what = int(sys.argv[1]), sys.argv[2]
    if what == "run":
        bad = 0
        for kind in sys.argv[3:]:
            try:
                run(port, kind)
                print(kind, "ok", flush=True)
            except Exception as e:  # each lifecycle reports, the rest still run
                print(kind, "FAIL", e, flush=True)
                bad += 1
        sys.exit(1 if bad else 0)
    n, seconds = int(sys.argv[3]), float(sys.argv[4])
    held = []
    for _ in range(n):
        held.append(connect(port))
        k = connect(port)
        k.sendall(REQ)
        read_answers(k, 1)
        held.append(k)
    print("held", flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
