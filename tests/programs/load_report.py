"""Child of the sdist and reliability tests: an installed jemalloc_sys loads; which, and where?

No arguments. Calls ``jemalloc_sys.load()`` and prints one JSON object: ``python``
([major, minor] of the interpreter), ``prefix`` (``sys.prefix``), ``package``
(jemalloc_sys's ``__file__``), ``version`` (``jemalloc_sys.jemalloc_version``) and
``library`` (``library_path()``).
"""

from __future__ import annotations

import json
import sys

import jemalloc_sys


def main() -> None:
    jemalloc_sys.load()
    print(json.dumps({"python": list(sys.version_info[:2]), "prefix": sys.prefix, "package": jemalloc_sys.__file__,
                      "version": jemalloc_sys.jemalloc_version, "library": str(jemalloc_sys.library_path())}))


if __name__ == "__main__":
    main()
