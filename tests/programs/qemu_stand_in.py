#!/usr/bin/env python3
"""A stand-in for qemu-user: prints how it was called, as the probe would print its result.

Usage: qemu_stand_in.py [-E VAR=VALUE]... PROGRAM ARGS...
Prints one JSON line: the -E values it was given, what MALLOC_CONF and LD_PRELOAD are in its own
environment, and the program's command line. The functional checks' unit test reads it.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    args = sys.argv[1:]
    sets: list[str] = []
    while args and args[0] == "-E":
        sets.append(args[1])
        args = args[2:]
    print(json.dumps({"ok": True, "sets": sets, "malloc_conf": os.environ.get("MALLOC_CONF"),
                      "ld_preload": os.environ.get("LD_PRELOAD"), "program": args}))


if __name__ == "__main__":
    main()
