"""fork() while other threads are allocating; every child must allocate, free and exit cleanly.

Usage: python fork_threads.py THREADS FORKS CHILD_DEADLINE_SECONDS
jemalloc's pthread_atfork handlers must leave its locks usable in the child even
though a thread of the parent held them at the moment of the fork. A child that
deadlocks is killed at the deadline and reported as hung. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import jemalloc_sys


def churn(stop: threading.Event) -> None:
    live: list[bytes] = []
    i = 0
    while not stop.is_set():
        live.append(bytes(16 + (i * 977) % 40000))
        if len(live) > 300:
            del live[: len(live) // 2]
        i += 1


def child_work() -> None:
    # Allocate from the child's only thread and from new threads of its own.
    blobs = [bytes(16 + (i * 131) % 100000) for i in range(2000)]
    del blobs
    workers = [threading.Thread(target=lambda: [bytearray(5000) for _ in range(2000)]) for _ in range(3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def main() -> int:
    threads, forks, deadline = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    stop = threading.Event()
    pool = [threading.Thread(target=churn, args=(stop,)) for _ in range(threads)]
    for t in pool:
        t.start()
    statuses: list[int] = []
    hung = 0
    for _ in range(forks):
        time.sleep(0.01)  # let the churners get back into malloc
        pid = os.fork()
        if pid == 0:
            try:
                child_work()
            finally:
                os._exit(0)
        until = time.monotonic() + deadline
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                statuses.append(os.waitstatus_to_exitcode(status))
                break
            if time.monotonic() > until:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                hung += 1
                break
            time.sleep(0.01)
    stop.set()
    for t in pool:
        t.join()
    allocator = jemalloc_sys.process_allocator()  # raises unless malloc is the preloaded jemalloc
    print(json.dumps({"allocator": allocator.version, "forks": forks, "exit_codes": sorted(set(statuses)), "clean": statuses.count(0),
                      "hung": hung}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
