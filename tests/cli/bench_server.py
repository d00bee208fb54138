#!/usr/bin/python3
# bench_server.py - a small HTTP/1.1 server for the herd bench tests.
#
# Run with Debian's /usr/bin/python3 (stdlib only): bench_server.py PORT.
# It counts connections and requests and answers by path, so the tests can
# check what herd bench saw against what the server saw:
#   /          200 "hello\n" with Content-Length (keep-alive unless asked to close)
#   /chunked   200 with a chunked body and a trailer
#   /close     200 with a close-delimited body (no length, then close)
#   /reset     no answer: the connection is reset (SO_LINGER 0 + close)
#   /vanish    no answer: the connection is closed (FIN)
#   /slow      200 after 300 ms (a stalled server, for open-loop tests)
#   /silent    no answer at all (the connection stays open): timeouts
#   /hdr       200 when the request carried "X-Test: yes", else 400
#   /stats     "conns=N reqs=M" counted before this request
#   anything else: 404
import asyncio
import socket
import struct
import sys

conns = 0
reqs = 0


async def handle(reader, writer):
    global conns, reqs
    conns += 1
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            hdrs = {}
            for l in lines[1:]:
                if ":" in l:
                    k, v = l.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            n = int(hdrs.get("content-length", "0"))
            if n:
                await reader.readexactly(n)
            path = target.split("?", 1)[0]
            if path == "/stats":
                body = ("conns=%d reqs=%d\n" % (conns - 1, reqs)).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
                await writer.drain()
                break
            reqs += 1
            close = hdrs.get("connection", "").lower() == "close"
            if path == "/":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n%s\r\n%s"
                             % (b"Connection: close\r\n" if close else b"",
                                b"" if method == "HEAD" else b"hello\n"))
            elif path == "/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"3\r\nhel\r\n3;ext=1\r\nlo\n\r\n0\r\nX-Trailer: yes\r\n\r\n")
            elif path == "/close":
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nclose-delimited body\n")
                await writer.drain()
                break
            elif path == "/reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            elif path == "/slow":
                await asyncio.sleep(0.3)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            elif path == "/silent":
                await asyncio.sleep(3600)
            elif path == "/hdr":
                ok = hdrs.get("x-test") == "yes"
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % (200 if ok else 400))
            elif path == "/vanish":
                break
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n")
            await writer.drain()
            if close:
                break
    finally:
        writer.close()


async def main():
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    server = await asyncio.start_server(handle, host, int(sys.argv[1]), backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
