"""Child of tests/integration/test_conda.py: what jemalloc_sys reports in an installed conda prefix.

No arguments; run by the prefix's own python, from an empty folder. Prints one JSON
object: ``variant``, ``features`` (sorted), ``config.prof`` and ``config.stats`` (read from
the library), ``library`` (its path) and ``sha256``, ``cache_key`` (from the build
record), ``include``, ``pkgconfig`` and ``package`` (jemalloc_sys's ``__file__``).
"""

from __future__ import annotations

import hashlib
import json

import jemalloc_sys
from jemalloc_sys import ctl


def main() -> None:
    a = ctl.default()
    lib = jemalloc_sys.library_path()
    print(json.dumps({
        "variant": jemalloc_sys.variant(), "features": sorted(jemalloc_sys.features()),
        "config.prof": bool(a.read("config.prof", "bool")), "config.stats": bool(a.read("config.stats", "bool")),
        "library": str(lib), "sha256": hashlib.sha256(lib.read_bytes()).hexdigest(),
        "cache_key": jemalloc_sys.build_info()["cache_key"], "include": jemalloc_sys.get_include(),
        "pkgconfig": jemalloc_sys.get_pkgconfig_dir(), "package": jemalloc_sys.__file__,
    }))


if __name__ == "__main__":
    main()
