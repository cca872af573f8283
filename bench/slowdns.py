#!/usr/bin/env python3
"""A slow DNS server for measuring how a downloader looks names up: on 127.0.0.1:53 it answers
every A query with 127.0.0.1 after a delay (30 ms unless given in seconds), every other query
with no answer, and prints its running count of queries.

    sudo bench/slowdns.py 0.03 &
    sudo cp /etc/resolv.conf /tmp/resolv.conf.saved
    echo 'nameserver 127.0.0.1' | sudo tee /etc/resolv.conf
    ... run the tools on a list whose host is a name, e.g. slow.test ...
    sudo cp /tmp/resolv.conf.saved /etc/resolv.conf; sudo pkill -f slowdns.py

It changes how the whole machine resolves names while it is in use, so bench/run does not use
it; the README's figures for name lookups were measured with it by hand.
"""

import socket
import struct
import sys
import threading
import time

DELAY = float(sys.argv[1]) if len(sys.argv) > 1 else 0.03
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 53))
count = {"A": 0, "other": 0}
lock = threading.Lock()


def answer(data, addr):
    time.sleep(DELAY)
    tid, flags, qd = struct.unpack(">HHH", data[:6])
    i = 12
    while data[i]:
        i += data[i] + 1
    qtype = struct.unpack(">H", data[i+1:i+3])[0]
    question = data[12:i+5]
    with lock:
        count["A" if qtype == 1 else "other"] += 1
        print(count, flush=True)
    if qtype == 1:
        hdr = struct.pack(">HHHHHH", tid, 0x8180, 1, 1, 0, 0)
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        sock.sendto(hdr + question + rr, addr)
    else:
        hdr = struct.pack(">HHHHHH", tid, 0x8180, 1, 0, 0, 0)
        sock.sendto(hdr + question, addr)


while True:
    data, addr = sock.recvfrom(512)
    threading.Thread(target=answer, args=(data, addr), daemon=True).start()
