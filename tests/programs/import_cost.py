"""Child of tests/unit/test_import.py: which heavy modules ``import jemalloc_sys`` pulls in.

No arguments; run with ``python -S`` and the checkout on PYTHONPATH. Prints the sorted
list of the modules among ctypes, json, pathlib, logging, typing, importlib.util and
jemalloc_sys._loader that the import added to ``sys.modules``.
"""

import sys

HEAVY = {"ctypes", "json", "pathlib", "logging", "typing", "importlib.util", "jemalloc_sys._loader"}

before = set(sys.modules)
import jemalloc_sys  # noqa: E402,F401  # the import under test, after the snapshot

print(sorted((set(sys.modules) - before) & HEAVY))
