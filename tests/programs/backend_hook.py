"""Child of tests/unit/test_backend.py: call one PEP 517 hook of the source tree's backend.

Usage: ``backend_hook.py HOOK DIRECTORY CONFIG_JSON``, run with the tree as the working
folder (the backend reads its ``pyproject.toml`` there). Imports ``_backend/jemalloc_sys_backend``
of that tree, calls ``HOOK(DIRECTORY, config settings)`` (``prepare_metadata_for_build_wheel``,
``build_wheel``...) and prints what it returns (the name of the file or folder made).
Errors end the process the backend's way: a message on stderr and a non-zero exit.
"""

from __future__ import annotations

import importlib
import json
import os
import sys


def main() -> None:
    hook, directory, config = sys.argv[1:4]
    sys.path.insert(0, os.path.join(os.getcwd(), "_backend"))
    backend = importlib.import_module("jemalloc_sys_backend")
    print(getattr(backend, hook)(directory, json.loads(config)))


if __name__ == "__main__":
    main()
