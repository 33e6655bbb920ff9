"""Child of tests/integration/test_ctl.py: the exception each misuse of ``jemalloc_sys.ctl`` raises.

No arguments; meant for the default build (no stats, no profiling). Prints one JSON
object, label -> ``None`` (no error) or ``[exception class name, errno, mallctl name,
message, missing feature or None]`` for: ``unknown`` (a misspelt name),
``wrong_size`` (a read with the wrong C type), ``wrong_python_type``, ``read_only``,
``no_stats``, ``no_prof`` (names of features the build lacks) and ``index`` (an
arena that does not exist).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from jemalloc_sys import ctl, errors


def main() -> None:
    a = ctl.default()
    out: dict[str, list[object] | None] = {}

    def attempt(label: str, fn: Callable[[], object]) -> None:
        try:
            fn()
            out[label] = None
        except errors.MallctlError as exc:
            out[label] = [type(exc).__name__, exc.errno, exc.name, str(exc), getattr(exc, "feature", None)]

    attempt("unknown", lambda: a.get("stats.allocatd"))
    attempt("wrong_size", lambda: a.read("arenas.narenas", "uint64_t"))
    attempt("wrong_python_type", lambda: a.set("background_thread", "yes"))
    attempt("read_only", lambda: a.set("version", "6.0"))
    attempt("no_stats", lambda: a.get("stats.allocated"))
    attempt("no_prof", lambda: a.get("prof.active"))
    attempt("index", lambda: a.call("arena.999999.purge"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
