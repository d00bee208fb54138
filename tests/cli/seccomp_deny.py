#!/usr/bin/env python3
"""seccomp_deny.py WHAT CMD ARGS... - runs CMD under a seccomp filter that
makes one system call fail, so tests can check how herd behaves without a
kernel feature while the rest of the machine keeps it. WHAT is one of:

  uring      io_uring_setup() fails with EPERM (what container runtimes'
             default profiles do);
  bpf-prog   bpf(BPF_PROG_LOAD, ...) fails with EINVAL, which is how a
             kernel without a program type answers a load of that type;
             maps and every other bpf() command still work.

x86_64 only: elsewhere it exits 77."""
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
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
# WHAT: (syscall number, first argument to match or None, errno)
DENY = {
    "uring": (425, None, 1),  # io_uring_setup, EPERM
    "bpf-prog": (321, 5, 22),  # bpf(BPF_PROG_LOAD), EINVAL
}
if len(sys.argv) < 3 or sys.argv[1] not in DENY:
    sys.exit("usage: seccomp_deny.py uring|bpf-prog CMD ARGS...")
nr, arg0, err = DENY[sys.argv[1]]

# BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K; a jump's
# offsets count instructions after it, to the final "allow".
LD, JEQ, RET = 0x20, 0x15, 0x06
match = [(LD, 0, 0, 16), (JEQ, 0, 1, arg0)] if arg0 is not None else []  # seccomp_data.args[0], low 32 bits
prog = [
    (LD, 0, 0, 4),  # seccomp_data.arch
    (JEQ, 0, 3 + len(match), AUDIT_ARCH_X86_64),  # other arch: allow
    (LD, 0, 0, 0),  # seccomp_data.nr
    (JEQ, 0, 1 + len(match), nr),
    *match,
    (RET, 0, 0, SECCOMP_RET_ERRNO | err),
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
    sys.exit("seccomp_deny.py: PR_SET_NO_NEW_PRIVS: " + os.strerror(ctypes.get_errno()))
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
    sys.exit("seccomp_deny.py: PR_SET_SECCOMP: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[2], sys.argv[2:])
