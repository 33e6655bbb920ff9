"""Child of tests/integration/test_preload.py: what ``jemalloc_sys.preload_env()`` returns, and refuses.

No arguments. Prints one JSON object: ``env`` (LD_PRELOAD, MALLOC_CONF, KEEP and
PYTHONMALLOC of the environment made from a base mapping with two preloads and a
MALLOC_CONF), ``base`` (that mapping afterwards: it must be unchanged), ``again``
(LD_PRELOAD after applying preload_env to its own result) and, for ``typo``, ``pair``
and ``profile``, ``[exception class name, message]`` of the error raised (or null).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import jemalloc_sys
from jemalloc_sys import errors


def main() -> None:
    base = {"LD_PRELOAD": "/x/liba.so /x/libb.so", "MALLOC_CONF": "narenas:2", "KEEP": "1"}
    env = jemalloc_sys.preload_env({"background_thread": True, "dirty_decay_ms": 0}, env=base, python_malloc=True)
    out: dict[str, object] = {"env": {k: env[k] for k in ("LD_PRELOAD", "MALLOC_CONF", "KEEP", "PYTHONMALLOC")},
                              "base": base}
    again = jemalloc_sys.preload_env(env=env)
    out["again"] = again["LD_PRELOAD"]
    calls: list[tuple[str, Callable[[], object]]] = [
        ("typo", lambda: jemalloc_sys.preload_env("narenaz:2")),
        ("pair", lambda: jemalloc_sys.preload_env("narenas=2")),
        ("profile", lambda: jemalloc_sys.preload_env(profile="/tmp/never")),
    ]
    for label, call in calls:
        try:
            call()
            out[label] = None
        except errors.JemallocError as exc:
            out[label] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
