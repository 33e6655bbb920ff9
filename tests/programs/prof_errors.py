"""Ask the in-process jemalloc for the profiling calls and print how each one fails, as JSON.

Usage: python prof_errors.py DUMP_PATH
Prints one JSON object: mallctl name -> [exception class name, message] (or "ok").
The parent runs it against a build without profiling and expects the error that names the
missing feature and the extra that has it, not a hint about MALLOC_CONF.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from jemalloc_sys import ctl, errors


def main() -> None:
    allocator = ctl.default()
    calls: dict[str, Callable[[], Any]] = {
        "prof.dump": lambda: allocator.set("prof.dump", sys.argv[1]),
        "prof.reset": lambda: allocator.call("prof.reset"),
        "prof.active": lambda: allocator.get("prof.active"),
    }
    out: dict[str, object] = {}
    for name, call in calls.items():
        try:
            call()
            out[name] = "ok"
        except errors.JemallocError as exc:
            out[name] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
