#!/usr/bin/env python3
"""h2_server.py - an HTTP/2 (h2c, prior knowledge) server that misbehaves on
purpose, for test_bench_h2_faults.sh. Raw frames (RFC 9113: a 9-byte header
then the payload), no HPACK decoder: requests are only counted, and every
response is the one-byte header block 0x88 (":status: 200" from the static
table) and a DATA frame "ok\\n".

    h2_server.py PORT MODE STATS

MODE (K: every K-th request the server sees, counted over all connections;
N: the N-th request on each connection):
    ok                 answer everything
    reset:K            RST_STREAM INTERNAL_ERROR instead of an answer
    refuse:K           RST_STREAM REFUSED_STREAM instead of an answer
    goaway:N           answer N, then GOAWAY NO_ERROR (last stream: the N-th);
                       later streams of that connection are ignored
    goaway-error:N     no answer to the N-th: GOAWAY INTERNAL_ERROR (last stream:
                       the N-th) and the connection is shut
    bad:WHAT:K         a bad frame instead of an answer; WHAT is data0 (DATA on
                       stream 0), settings (a SETTINGS of 5 bytes), hpack (an
                       undecodable header block), nostatus (a response without
                       :status), length (content-length 10, 2 bytes of body)
    flow:conn:K        WINDOW_UPDATE of 2^31-1 on the connection (its window overflows)
    flow:stream:K      WINDOW_UPDATE of 2^31-1 on the request's stream
    window:W:LEN       SETTINGS_INITIAL_WINDOW_SIZE W, credit given back as
                       request bodies arrive; 200 when a body of LEN bytes
                       came within the windows, else 400
    silent             never answer

STATS is rewritten (JSON, atomically) after every event: requests, answered,
reset, refused, goaway, goaway_error, bad, flow, ignored, rst_received,
and in window mode, for the streams opened once the client had acknowledged
the SETTINGS (before that its windows are 65535 bytes, RFC 9113 6.9.2):
windowed (such streams), overrun (DATA beyond a window), max_data (the
largest DATA payload), bodies_ok.
"""
import json
import os
import socket
import sys
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
NO_ERROR, INTERNAL_ERROR, REFUSED_STREAM = 0, 2, 7
STATUS_200 = b"\x88"
STATUS_400 = b"\x8c"  # static index 12: ":status: 400"

port, mode, stats_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
parts = mode.split(":")
lock = threading.Lock()
stats = dict.fromkeys(
    "requests answered reset refused goaway goaway_error bad flow ignored rst_received windowed overrun max_data "
    "bodies_ok".split(),
    0,
)


def bump(key, n=1):
    with lock:
        stats[key] += n
        tmp = stats_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, stats_path)


def arrival():
    with lock:
        stats["requests"] += 1
        return stats["requests"]


def frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.n = 0  # requests on this connection
        self.goaway_last = None
        self.acked = False  # the client acknowledged our SETTINGS
        self.window = {}  # window mode: stream -> credit left
        self.body = {}  # stream -> body bytes received

    def send(self, data):
        self.sock.sendall(data)

    def answer(self, sid, status=STATUS_200):
        self.send(frame(HEADERS, END_HEADERS, sid, status) + frame(DATA, END_STREAM, sid, b"ok\n"))
        bump("answered")

    def request(self, sid):
        """A complete request on stream sid. Returns False to stop reading."""
        a = arrival()
        self.n += 1
        kind = parts[0]
        every = int(parts[-1]) if kind in ("reset", "refuse", "bad", "flow") else 0
        hit = every and a % every == 0
        if self.goaway_last is not None and sid > self.goaway_last:
            bump("ignored")
        elif kind == "silent":
            bump("requests", 0)
        elif kind == "reset" and hit:
            self.send(frame(RST_STREAM, 0, sid, INTERNAL_ERROR.to_bytes(4, "big")))
            bump("reset")
        elif kind == "refuse" and hit:
            self.send(frame(RST_STREAM, 0, sid, REFUSED_STREAM.to_bytes(4, "big")))
            bump("refused")
        elif kind == "bad" and hit:
            what = parts[1]
            if what == "data0":
                self.send(frame(DATA, 0, 0, b"x"))
            elif what == "settings":
                self.send(frame(SETTINGS, 0, 0, b"\x00\x04\x00\x00\x00"))
            elif what == "hpack":
                self.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, b"\x80"))
            elif what == "nostatus":
                self.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, b"\x00\x01x\x01y"))
            elif what == "length":
                # :status 200, then content-length (static name 28) "10"
                self.send(frame(HEADERS, END_HEADERS, sid, STATUS_200 + b"\x0f\x0d\x0210"))
                self.send(frame(DATA, END_STREAM, sid, b"ab"))
            bump("bad")
        elif kind == "flow" and hit:
            target = 0 if parts[1] == "conn" else sid
            self.send(frame(WINDOW_UPDATE, 0, target, (2**31 - 1).to_bytes(4, "big")))
            bump("flow")
        elif kind == "goaway" and self.n == int(parts[1]):
            self.answer(sid)
            self.goaway_last = sid
            self.send(frame(GOAWAY, 0, 0, sid.to_bytes(4, "big") + NO_ERROR.to_bytes(4, "big")))
            bump("goaway")
        elif kind == "goaway-error" and self.n == int(parts[1]):
            self.send(frame(GOAWAY, 0, 0, sid.to_bytes(4, "big") + INTERNAL_ERROR.to_bytes(4, "big")))
            bump("goaway_error")
            # Shut our side and read until the client closes: closing with
            # its requests unread would send RST and could drop our frames.
            self.sock.shutdown(socket.SHUT_WR)
            return False
        elif kind == "window":
            ok = self.body.pop(sid, 0) == int(parts[2])
            if ok:
                bump("bodies_ok")
            self.answer(sid, STATUS_200 if ok else STATUS_400)
        else:
            self.answer(sid)
        return True

    def serve(self):
        if read_exact(self.sock, len(PREFACE)) != PREFACE:
            return
        settings = b""
        if parts[0] == "window":
            settings = (4).to_bytes(2, "big") + int(parts[1]).to_bytes(4, "big")
        self.send(frame(SETTINGS, 0, 0, settings))
        while True:
            hdr = read_exact(self.sock, 9)
            if hdr is None:
                return
            length = int.from_bytes(hdr[0:3], "big")
            ftype, flags = hdr[3], hdr[4]
            sid = int.from_bytes(hdr[5:9], "big") & 0x7FFFFFFF
            payload = read_exact(self.sock, length) if length else b""
            if payload is None:
                return
            if ftype == SETTINGS and flags & ACK:
                self.acked = True
            elif ftype == SETTINGS:
                self.send(frame(SETTINGS, ACK, 0))
            elif ftype == PING and not flags & ACK:
                self.send(frame(PING, ACK, 0, payload))
            elif ftype == RST_STREAM:
                bump("rst_received")
            elif ftype == HEADERS:
                if parts[0] == "window":
                    if self.acked:
                        self.window[sid] = int(parts[1])
                        bump("windowed")
                    self.body[sid] = 0
                if flags & END_STREAM and not self.request(sid):
                    break
            elif ftype == DATA:
                if parts[0] == "window":
                    self.body[sid] = self.body.get(sid, 0) + length
                if sid in self.window:
                    self.window[sid] -= length
                    if self.window[sid] < 0:
                        bump("overrun")
                    with lock:
                        stats["max_data"] = max(stats["max_data"], length)
                if length:
                    # Credit back what arrived, stream and connection.
                    inc = length.to_bytes(4, "big")
                    self.send(frame(WINDOW_UPDATE, 0, 0, inc) + frame(WINDOW_UPDATE, 0, sid, inc))
                    if sid in self.window:
                        self.window[sid] += length
                if flags & END_STREAM and not self.request(sid):
                    break
        while self.sock.recv(65536):
            pass


def handle(sock):
    try:
        sock.settimeout(30)
        Conn(sock).serve()
    except OSError:
        pass
    finally:
        sock.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    bump("requests", 0)
    while True:
        sock, _ = srv.accept()
        threading.Thread(target=handle, args=(sock,), daemon=True).start()


main()
