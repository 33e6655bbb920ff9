"""Child of tests/integration/test_ctl.py: read every readable name of the shipped type table with its type.

No arguments. jemalloc answers EINVAL when a buffer's size differs from the C type's,
so reading each name with the derived type checks the table against the compiled
library. Prints one JSON object: ``checked`` (names read, or refused for a reason
other than their size), ``wrong`` (``[name, message]`` of each WrongTypeError) and
``skipped`` (names that cannot be read plainly: queries, creators, experimental).
"""

from __future__ import annotations

import json

from jemalloc_sys import ctl, errors

QUERIES = ("arenas.lookup", "thread.tcache.ncached_max.read_sizeclass")
"""Names that answer about an input written in the same call (a pointer, a size); without
one jemalloc rightly says EINVAL, so they are not type checks."""


def main() -> None:
    a = ctl.default()
    doc = ctl.types_table()
    checked, wrong, skipped = 0, [], []
    for pattern, entry in sorted(doc["names"].items()):
        if not entry["read"] or entry["type"] not in ctl.CTYPES or pattern in QUERIES or pattern.startswith(
                ("experimental.", "arenas.create", "tcache.create")):
            skipped.append(pattern)
            continue
        name = pattern.replace("*", "0")
        try:
            a.get(name)
            checked += 1
        except errors.WrongTypeError as exc:
            wrong.append([name, str(exc)])
        except errors.MallctlError:
            checked += 1  # ENOENT/EFAULT/EAGAIN: the name resolved, the size was not the problem
    print(json.dumps({"checked": checked, "wrong": wrong, "skipped": len(skipped)}))


if __name__ == "__main__":
    main()
