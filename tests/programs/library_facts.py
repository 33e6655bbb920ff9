"""Child of tests/integration/test_features_in_library.py: what the loaded library says about its build.

No arguments. Reads back, through ``ctl.default()``, every fact a feature or setting
should change and prints one JSON object: mallctl name -> value for ``version``,
``config.prof``, ``config.stats``, ``config.debug``, ``config.malloc_conf``,
``opt.background_thread``, ``opt.cache_oblivious``, ``arenas.page``,
``arenas.quantum``, ``opt.narenas`` and ``opt.dirty_decay_ms``, plus ``features``
(sorted ``jemalloc_sys.features()``) and ``build_info``.
"""

from __future__ import annotations

import json

import jemalloc_sys
from jemalloc_sys import ctl

FACTS = [
    ("version", "const char *"), ("config.prof", "bool"), ("config.stats", "bool"), ("config.debug", "bool"),
    ("config.malloc_conf", "const char *"), ("opt.background_thread", "bool"), ("opt.cache_oblivious", "bool"),
    ("arenas.page", "size_t"), ("arenas.quantum", "size_t"), ("opt.narenas", "unsigned"),
    ("opt.dirty_decay_ms", "ssize_t"),
]


def main() -> None:
    a = ctl.default()
    facts: dict[str, object] = {name: a.read(name, ctype) for name, ctype in FACTS}
    facts["features"] = sorted(jemalloc_sys.features())
    facts["build_info"] = jemalloc_sys.build_info()
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
