"""Child of tests/integration/test_features_in_library.py: ``import jemalloc_sys`` does not load the library.

No arguments. Fails (an AssertionError) if libjemalloc_sys is mapped right after the
import, or not mapped after ``jemalloc_sys.load()``; prints ``ok`` otherwise.
"""

from __future__ import annotations

import jemalloc_sys


def mapped() -> str:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        return maps.read()


def main() -> None:
    assert "libjemalloc_sys" not in mapped(), "loaded at import"
    jemalloc_sys.load()
    assert "libjemalloc_sys.so.2" in mapped()
    print("ok")


if __name__ == "__main__":
    main()
