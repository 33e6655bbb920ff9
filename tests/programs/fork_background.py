"""Fork once and report jemalloc's background threads in the parent and in the child.

Prints one JSON object: ``{"parent": [...], "child": [...]}``, each ``[background_thread,
jemalloc background threads running]``. Run under ``jemalloc-sys run --conf
background_thread:true``; without jemalloc both report ``null``.
"""

from __future__ import annotations

import json
import os
import time


def state() -> list[object]:
    try:
        import jemalloc_sys

        on: bool | None = bool(jemalloc_sys.process_allocator().background_thread)
    except Exception:
        on = None
    names = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as fh:
            names.append(fh.read().strip())
    return [on, sum(name.startswith("jemalloc_bg_thd") for name in names)]


def main() -> None:
    parent = state()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        for _ in range(50):  # the background thread starts at the child's first allocation, asynchronously
            child = state()
            if child[1]:
                break
            time.sleep(0.02)
        os.write(write, json.dumps(child).encode())
        os._exit(0)
    os.close(write)
    data = os.read(read, 4096)
    os.waitpid(pid, 0)
    print(json.dumps({"parent": parent, "child": json.loads(data)}))


if __name__ == "__main__":
    main()
