"""Child of tests/integration/test_pyframes.py: the Python table of a heap profile's report.

Usage: ``python_sites.py DUMP``; run by a venv's interpreter holding jemalloc_sys.
Reads DUMP (and its ``.pymap``) with the package itself and prints one JSON object:
report row label -> ``[flat bytes, Python stack]`` for every Python allocation site.
"""

from __future__ import annotations

import json
import sys

from jemalloc_sys.prof import build_report, python_sites, read


def main() -> None:
    report = build_report(read(sys.argv[1]))
    print(json.dumps({row.function: [row.flat, stack] for row, stack in python_sites(report)}))


if __name__ == "__main__":
    main()
