"""A bounded HTTP load generator for 127.0.0.1: a fixed number of requests over a fixed number of connections.

Usage: python loadgen.py PORT REQUESTS CONNECTIONS DEADLINE_SECONDS

Each of CONNECTIONS threads sends ``POST /`` with a JSON body (a few hundred
bytes to ~16 KB, from a fixed set) on a new connection (``Connection: close``:
gunicorn's sync workers close after every response anyway, so both worker
classes see the same traffic), reads the whole response and checks its status.
It stops after REQUESTS requests in total or at DEADLINE_SECONDS, whichever
comes first, and prints one JSON line: requests done, errors, seconds.
Only the standard library: nothing to install, and it talks to 127.0.0.1 only.
"""

from __future__ import annotations

import itertools
import json
import random
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def bodies(count: int = 64) -> list[bytes]:
    """Fixed request bodies of varied sizes (the same for every run)."""
    rng = random.Random(1234)
    made = []
    for n in range(count):
        payload = [{"k": f"key-{i}", "v": "v" * rng.randrange(8, 256)} for i in range(rng.randrange(2, 120))]
        made.append(json.dumps({"seed": n, "payload": payload}).encode())
    return made


def request_bytes(port: int, body: bytes) -> bytes:
    head = (f"POST / HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def one(port: int, raw: bytes, timeout: float) -> bool:
    """Send one request; True when the whole response came back with status 200."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    return response.startswith(b"HTTP/1.1 200") or response.startswith(b"HTTP/1.0 200")


def main() -> int:
    port, total, connections, deadline = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    raws = [request_bytes(port, body) for body in bodies()]
    tickets = itertools.count()
    lock = threading.Lock()
    done = [0, 0]  # ok, errors
    started = time.monotonic()

    def worker() -> None:
        while time.monotonic() - started < deadline:
            with lock:
                n = next(tickets)
            if n >= total:
                return
            try:
                ok = one(port, raws[n % len(raws)], timeout=30)
            except OSError:
                ok = False
            with lock:
                done[0 if ok else 1] += 1

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"requests": done[0], "errors": done[1], "seconds": round(time.monotonic() - started, 4)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
