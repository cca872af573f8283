#!/usr/bin/env python3
"""The seed's program as a benchmark peer: one thread per link downloads with urllib and puts
(url, body) on a Queue; the main thread takes exactly one result per link and prints the URL and
the first 100 bytes. Links come from the file named as the first argument, or stdin.

Kept as close to the textbook chapter as a command-line program allows (daemon threads,
Queue.get / task_done / join), so the benchmark measures that approach, not a tuned one.
"""

import sys
import urllib.request
from queue import Queue
from threading import Thread


def get_content(act_url, outq):
    with urllib.request.urlopen(act_url) as res:
        body = res.read()
    outq.put((act_url, body))


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "-" else sys.stdin
    links = [line.strip() for line in source if line.strip() and not line.startswith("#")]
    outputq = Queue()
    for link in links:
        t = Thread(target=get_content, kwargs={"act_url": link, "outq": outputq})
        t.daemon = True
        t.start()
    for _ in links:
        link, body = outputq.get()
        print(link, body[:100])
        outputq.task_done()
    outputq.join()


if __name__ == "__main__":
    main()
