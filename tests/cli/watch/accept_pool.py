"""accept_pool.py PORT N [LOG [SPIN_MS]]: a listener served by a pool of N threads,
each blocked in accept() (the kernel hands each connection to one waiting
thread), for test_watch_pool.sh and scripts/bench-watch.sh. Each accept
reads one request and answers a minimal HTTP response (so that herd bench
or wrk can drive it) and closes; with LOG (or "-" for none), the accepting thread's
tid is appended to LOG (the truth per thread); with SPIN_MS, each request
first burns that much of the thread's own CPU time. Prints "ready PID"
once every thread is waiting; stops on SIGTERM."""
import os
import signal
import socket
import sys
import threading
import time

port, n = int(sys.argv[1]), int(sys.argv[2])
log = open(sys.argv[3], "a", buffering=1) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
spin = float(sys.argv[4]) / 1000 if len(sys.argv) > 4 else 0
lock = threading.Lock()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(4096)
threading.stack_size(256 * 1024)
started = threading.Semaphore(0)


def serve():
    tid = threading.get_native_id()
    started.release()
    while True:
        c, _ = s.accept()
        t = time.thread_time() + spin
        while spin and time.thread_time() < t:
            pass
        if log:
            with lock:
                log.write("%d\n" % tid)
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        except OSError:
            pass
        c.close()


for _ in range(n):
    threading.Thread(target=serve, daemon=True).start()
for _ in range(n):
    started.acquire()
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
print("ready %d" % os.getpid(), flush=True)
signal.pause()
