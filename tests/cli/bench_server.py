#!/usr/bin/python3
# bench_server.py - a small HTTP/1.1 server for the herd bench tests.
#
# Run with Debian's /usr/bin/python3 (stdlib only):
#   bench_server.py PORT|unix:PATH [HOST [CERT KEY]]   (CERT and KEY: serve TLS)
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
#   /redir?n=K 302 to /redir?n=K-1, and 200 at n=0 (a chain of K redirects)
#   /redirto?u=URL 302 to URL
#   /auth      200 when the request carried Basic user:pw, else 401
#   /ua?want=S 200 when User-Agent is S, else 400
#   /204body   a 204 followed by bytes (a body a 204 cannot have)
#   /extra     200 with Content-Length 6 and more bytes after the body
#   /twice     two complete responses to one request, in one write
#   /late      200, then 50 ms later a second response nobody asked for
#   anything else: 404
# A plaintext server answers a TLS ClientHello with a 400 and closes, as
# nginx does.
import asyncio
import socket
import ssl
import struct
import sys

conns = 0
reqs = 0


async def handle(reader, writer):
    global conns, reqs
    conns += 1
    first = True
    try:
        while True:
            try:
                if first and not TLS:
                    b = await reader.readexactly(1)
                    if b == b"\x16":
                        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        await writer.drain()
                        break
                    head = b + await reader.readuntil(b"\r\n\r\n")
                else:
                    head = await reader.readuntil(b"\r\n\r\n")
                first = False
            except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
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
            path, _, query = target.partition("?")
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
            elif path == "/redir":
                k = int(query.partition("=")[2] or "0")
                if k > 0:
                    writer.write(b"HTTP/1.1 302 Found\r\nLocation: /redir?n=%d\r\nContent-Length: 0\r\n\r\n" % (k - 1))
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nend")
            elif path == "/redirto":
                loc = query.partition("=")[2].encode()
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % loc)
            elif path == "/auth":
                ok = hdrs.get("authorization") == "Basic dXNlcjpwdw=="
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % (200 if ok else 401))
            elif path == "/ua":
                ok = hdrs.get("user-agent") == query.partition("=")[2]
                writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % (200 if ok else 400))
            elif path == "/204body":
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\nbody a 204 cannot have")
            elif path == "/extra":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\nand more")
            elif path == "/twice":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            elif path == "/late":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            elif path == "/vanish":
                break
            else:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n")
            await writer.drain()
            if close:
                break
    finally:
        writer.close()


TLS = None
if len(sys.argv) > 4:
    TLS = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    TLS.load_cert_chain(sys.argv[3], sys.argv[4])


async def main():
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    if sys.argv[1].startswith("unix:"):
        server = await asyncio.start_unix_server(handle, sys.argv[1][5:], backlog=1024, ssl=TLS)
    else:
        server = await asyncio.start_server(handle, host, int(sys.argv[1]), backlog=1024, ssl=TLS)
    async with server:
        await server.serve_forever()


asyncio.run(main())
