#!/usr/bin/python3
# hlog_count.py - independent reader for HdrHistogram v1.3 interval logs.
#
# Decodes every interval (base64, zlib, V2 ZigZag LEB128 counts, negative
# values = runs of zeros) and prints "intervals total" so the tests can
# check what herd bench wrote without using herd's own decoder.
import base64
import struct
import sys
import zlib


def count(b64):
    raw = base64.b64decode(b64)
    cookie, length = struct.unpack(">II", raw[:8])
    assert cookie & ~0xF0 == 0x1C849304, hex(cookie)
    data = zlib.decompress(raw[8:8 + length])
    cookie, payload = struct.unpack(">II", data[:8])
    assert cookie & ~0xF0 == 0x1C849303, hex(cookie)
    body = data[40:40 + payload]
    total, i = 0, 0
    while i < len(body):
        v, shift = 0, 0
        for k in range(9):
            b = body[i]
            i += 1
            if k == 8:
                v |= b << shift
                break
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        v = (v >> 1) ^ -(v & 1)
        if v > 0:
            total += v
    return total


intervals = total = 0
with open(sys.argv[1]) as f:
    for line in f:
        if line.startswith("#") or line.startswith('"') or not line.strip():
            continue
        fields = line.strip().split(",")
        if fields[0].startswith("Tag="):
            fields = fields[1:]
        intervals += 1
        total += count(fields[3])
print(intervals, total)
