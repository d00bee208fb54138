#!/usr/bin/env python3
"""no_uring.py CMD ARGS... - runs CMD under a seccomp filter that makes
io_uring_setup() fail with EPERM (what container runtimes' default
profiles do), so tests can check how herd behaves without io_uring while
the rest of the machine keeps it. x86_64 only: elsewhere it exits 77."""
import ctypes
import os
import platform
import struct
import sys

if platform.machine() != "x86_64":
    sys.exit(77)

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
NR_IO_URING_SETUP = 425
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
LD, JEQ, RET = 0x20, 0x15, 0x06
prog = [
    (LD, 0, 0, 4),                      # seccomp_data.arch
    (JEQ, 0, 3, AUDIT_ARCH_X86_64),     # other arch: allow
    (LD, 0, 0, 0),                      # seccomp_data.nr
    (JEQ, 0, 1, NR_IO_URING_SETUP),
    (RET, 0, 0, SECCOMP_RET_ERRNO | EPERM),
    (RET, 0, 0, SECCOMP_RET_ALLOW),
]
raw = b"".join(struct.pack("HBBI", *ins) for ins in prog)
buf = ctypes.create_string_buffer(raw)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


fprog = SockFprog(len(prog), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
    sys.exit("no_uring.py: PR_SET_NO_NEW_PRIVS: " + os.strerror(ctypes.get_errno()))
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
    sys.exit("no_uring.py: PR_SET_SECCOMP: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
