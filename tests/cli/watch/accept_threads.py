"""accept_threads.py PORT N: a listener whose every accept() is made by a
new thread that exits right after, N of them one after the other, and a
client that makes the N connections (for test_watch.sh: more accepting
threads between two reads than herd watch's kernel table holds). Prints
"done" once all N were accepted."""
import socket
import sys
import threading

port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(128)


def one():
    c, _ = s.accept()
    c.close()


def client():
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port))
        c.recv(1)
        c.close()


# Waits on stdin until herd watch is attached.
sys.stdin.readline()
cl = threading.Thread(target=client)
cl.start()
for _ in range(n):
    t = threading.Thread(target=one)
    t.start()
    t.join()
cl.join()
print("done", flush=True)
