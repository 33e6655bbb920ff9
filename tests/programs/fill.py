"""Allocates from known Python functions, for the Python-frames profiling tests.

``fill_cache`` allocates 20 blocks of 1 MiB (``bytes``), called through ``outer``;
``Cache.load`` builds 20,000 strings of about 1 KiB. Both are held, then the program
dumps a heap profile to ``argv[1]`` through ``jemalloc_sys.pyframes.dump`` when it is
given (on-demand dump), or just exits (``prof_final`` writes one at exit). Prints the
Python-frames status as one JSON line.
"""

from __future__ import annotations

import json
import sys


class Cache:
    def load(self) -> list[str]:
        return ["x" * 1000 + str(i) for i in range(20000)]


def fill_cache() -> list[bytes]:
    return [bytes(1 << 20) for _ in range(20)]


def outer() -> list[bytes]:
    return fill_cache()


if __name__ == "__main__":
    from jemalloc_sys import pyframes

    status = pyframes.start()  # started already by the .pth hook under jemalloc-sys run --profile
    held = (outer(), Cache().load())  # at module level: fill_cache <- outer <- <module>
    if len(sys.argv) > 1:
        pyframes.dump(sys.argv[1])
    print(json.dumps({"python_frames": status.python_frames, "reason": status.reason, "held": len(held[1])}))
