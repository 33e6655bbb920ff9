"""Child of tests/integration/test_override.py: what a JEMALLOC_OVERRIDE package reports about its library.

No arguments. Prints one JSON object: ``version`` (``jemalloc_sys.jemalloc_version``),
``features`` (sorted), ``info`` (``build_info()``) and ``error`` (the LoadError message
of ``jemalloc_sys.load()``, or null when it loads).
"""

from __future__ import annotations

import json

import jemalloc_sys


def main() -> None:
    try:
        jemalloc_sys.load()
        error = None
    except jemalloc_sys.LoadError as exc:
        error = str(exc)
    print(json.dumps({"version": jemalloc_sys.jemalloc_version, "features": sorted(jemalloc_sys.features()),
                      "info": jemalloc_sys.build_info(), "error": error}))


if __name__ == "__main__":
    main()
