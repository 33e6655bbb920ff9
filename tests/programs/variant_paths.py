"""Child of tests/unit/test_variant_resolution.py: which installed variant is active, and where its files are.

No arguments; run with a site folder holding jemalloc_sys and companions on PYTHONPATH.
Logs warnings to stderr (``logging.basicConfig()``), then prints one JSON list:
``[variant(), sorted features(), get_include(), get_library_dir(), library_path(),
build_info()["variant"]]``. A bad ``JEMALLOC_SYS_VARIANT`` ends it with the VariantError
traceback.
"""

from __future__ import annotations

import json
import logging

import jemalloc_sys as j


def main() -> None:
    logging.basicConfig()
    print(json.dumps([j.variant(), sorted(j.features()), j.get_include(), j.get_library_dir(), str(j.library_path()),
                      j.build_info()["variant"]]))


if __name__ == "__main__":
    main()
