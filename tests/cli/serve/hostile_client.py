"""hostile_client.py - the adversarial clients of test_serve_hostile.sh.

  drip PORT SECONDS        a head with Content-Length (prints "sent"), then one
                           body byte every 0.2 s for SECONDS (a slow upload)
  pipeclose PORT N MS      one write of N pipelined /sleep?ms=MS, then close()
  bigbody PORT MB          a head with Content-Length: 10^9, then up to MB MiB
                           of body as fast as the server takes it; prints the
                           status line it got and the MiB it could send
  finreq PORT TIMEOUT N    N times: one request and its FIN in one segment
                           (TCP_CORK, then shutdown); prints how many of the
                           N the server did not close within TIMEOUT / 3
"""
import socket
import sys
import time


def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=10)


def drip(port, seconds):
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
    print("sent", flush=True)
    end = time.time() + float(seconds)
    while time.time() < end:
        s.sendall(b"x")
        time.sleep(0.2)
    s.close()


def pipeclose(port, n, ms):
    s = connect(port)
    s.sendall(b"GET /sleep?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n" % int(ms) * int(n))
    s.close()


def bigbody(port, mb):
    s = connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n")
    status = s.recv(4096).split(b"\r\n")[0].decode()
    chunk = b"x" * 65536
    sent = 0
    try:
        while sent < int(mb) * 1048576:
            sent += s.send(chunk)
    except OSError:
        pass  # the server closed: EPIPE or ECONNRESET
    print(status, sent // 1048576)


def finreq(port, timeout, n):
    slow = 0
    for _ in range(int(n)):
        s = connect(port)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        s.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        s.shutdown(socket.SHUT_WR)  # the FIN leaves with the corked request
        start = time.time()
        s.settimeout(float(timeout))
        try:
            while s.recv(65536):
                pass
        except socket.timeout:
            pass
        if time.time() - start >= float(timeout) / 3:
            slow += 1
        s.close()
    print(slow)


if __name__ == "__main__":
    {"drip": drip, "pipeclose": pipeclose, "bigbody": bigbody, "finreq": finreq}[sys.argv[1]](*sys.argv[2:])
