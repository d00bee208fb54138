"""accept_children.py PORT LOG K: a listener whose accepting processes come
and go, for test_watch_gone.sh. One child accepts for the whole run; two
more, one after the other, accept K connections each and exit. Every
accept appends the acceptor's pid to LOG (the truth). Prints "ready" once
listening; stops on SIGTERM."""
import os
import signal
import socket
import sys

port, log, k = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)


def serve(n):
    """Accept n connections (forever if n is 0), answer each, log the pid."""
    i = 0
    while n == 0 or i < n:
        c, _ = s.accept()
        with open(log, "a") as f:
            f.write("%d\n" % os.getpid())
        c.sendall(b"ok\n")
        c.close()
        i += 1
    os._exit(0)


stay = os.fork()
if stay == 0:
    serve(0)
signal.signal(signal.SIGTERM, lambda *_: (os.kill(stay, signal.SIGKILL), os._exit(0)))
print("ready", flush=True)
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        serve(k)
    os.waitpid(pid, 0)
os.waitpid(stay, 0)
