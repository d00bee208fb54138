"""hostile_client.py - the adversarial clients of test_serve_hostile.sh.

  drip PORT SECONDS        a head with Content-Length (prints "sent"), then one
                           body byte every 0.2 s for SECONDS (a slow upload)
  pipeclose PORT N MS      one write of N pipelined /sleep?ms=MS, then close()
  finreq PORT TIMEOUT      one request and its FIN in one segment (TCP_CORK,
                           then shutdown); prints the seconds until the
                           server closed (TIMEOUT when it did not)
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


def finreq(port, timeout):
    s = connect(port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
    s.shutdown(socket.SHUT_WR)  # the FIN leaves with the corked request
    start = time.time()
    s.settimeout(float(timeout))
    try:
        while s.recv(65536):
            pass
        print("%.3f" % (time.time() - start))
    except socket.timeout:
        print(timeout)


if __name__ == "__main__":
    {"drip": drip, "pipeclose": pipeclose, "finreq": finreq}[sys.argv[1]](*sys.argv[2:])
