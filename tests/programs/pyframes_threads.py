"""Stress for the Python-frames hook: four threads, two in GIL-free C code, for ``argv[1]`` seconds.

Two threads compress with zlib (which releases the GIL: the hook sees no attached
thread state there), two build and drop Python objects; meanwhile the main thread
forks a child that allocates and dumps its own profile to ``argv[2]``-child.heap.
The parent then dumps to ``argv[2]``.heap. Prints one JSON line with both statuses.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import zlib


def compress(stop: threading.Event) -> None:
    data = os.urandom(1 << 16) * 16
    while not stop.is_set():
        zlib.compress(data, 6)


def churn(stop: threading.Event) -> None:
    while not stop.is_set():
        kept = [{"i": i, "s": "y" * (i % 700)} for i in range(2000)]
        del kept


def child_profile(path: str) -> int:
    from jemalloc_sys import pyframes

    data = [bytearray(100_000) for _ in range(50)]
    pyframes.dump(path)
    return len(data)


if __name__ == "__main__":
    from jemalloc_sys import pyframes

    status = pyframes.start()
    stop = threading.Event()
    threads = [threading.Thread(target=f, args=(stop,)) for f in (compress, compress, churn, churn)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + float(sys.argv[1])
    forked = None
    while time.monotonic() < deadline:
        if forked is None and time.monotonic() > deadline - float(sys.argv[1]) / 2:
            forked = os.fork()
            if forked == 0:
                child_profile(sys.argv[2] + "-child.heap")
                os._exit(0)
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    child_status = os.waitpid(forked, 0)[1] if forked else -1
    pyframes.dump(sys.argv[2] + ".heap")
    print(json.dumps({"python_frames": status.python_frames, "child_status": child_status}))
