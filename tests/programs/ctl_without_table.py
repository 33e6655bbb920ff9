"""Child of tests/integration/test_ctl.py: ``jemalloc_sys.ctl`` on a package that ships no type table.

No arguments; run against a package whose ``_mallctl_types.json`` was removed (what a
JEMALLOC_OVERRIDE package looks like). Prints one JSON object: ``allocated``
(``stats().allocated``), ``narenas`` (read with an explicit C type) and ``untyped``
(the WrongTypeError message of a read without one).
"""

from __future__ import annotations

import json

from jemalloc_sys import ctl, errors


def main() -> None:
    a = ctl.default()
    out: dict[str, object] = {"allocated": a.stats().allocated, "narenas": a.read("arenas.narenas", "unsigned")}
    try:
        a.get("arenas.narenas")
    except errors.WrongTypeError as exc:
        out["untyped"] = str(exc)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
