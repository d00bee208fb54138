#!/usr/bin/env python3
"""no_bpf_prog.py CMD ARGS... - runs CMD under a seccomp filter that makes
bpf(BPF_PROG_LOAD, ...) fail with EINVAL, which is how a kernel without a
program type answers a load of that type; maps and everything else still
work. Lets tests check what herd balance says on a kernel without
sk_reuseport programs. x86_64 only: elsewhere it exits 77."""
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
NR_BPF = 321
BPF_PROG_LOAD = 5
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EINVAL = 22
# BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
LD, JEQ, RET = 0x20, 0x15, 0x06
prog = [
    (LD, 0, 0, 4),                      # seccomp_data.arch
    (JEQ, 0, 5, AUDIT_ARCH_X86_64),     # other arch: allow
    (LD, 0, 0, 0),                      # seccomp_data.nr
    (JEQ, 0, 3, NR_BPF),
    (LD, 0, 0, 16),                     # seccomp_data.args[0], low 32 bits
    (JEQ, 0, 1, BPF_PROG_LOAD),
    (RET, 0, 0, SECCOMP_RET_ERRNO | EINVAL),
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
    sys.exit("no_bpf_prog.py: PR_SET_NO_NEW_PRIVS: " + os.strerror(ctypes.get_errno()))
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
    sys.exit("no_bpf_prog.py: PR_SET_SECCOMP: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
