"""jemalloc_build.mallctl_types: the mallctl type table derived from jemalloc's ``src/ctl.c``.

Checked here on a small hand-made excerpt (``tests/data/mallctl_excerpt.c``);
tests/integration/test_ctl.py checks the real table shipped in a built package.
"""

from __future__ import annotations

import pytest
from conftest import DATA

from jemalloc_build import mallctl_types


def test_parser_walks_tables_macros_and_hand_written_functions() -> None:
    table = mallctl_types.parse((DATA / "mallctl_excerpt.c").read_text(encoding="utf-8"),
                                (DATA / "mallctl_mutex_list.h").read_text(encoding="utf-8"))
    assert table["version"] == {"type": "const char *", "read": True, "write": False}
    assert table["stats.allocated"]["type"] == "size_t"
    assert table["stats.allocated"]["requires"] == "config_stats"
    assert table["arena.*.purge"] == {"type": None, "read": False, "write": False}
    assert table["arena.*.dss"] == {"type": "const char *", "read": True, "write": True}
    # written by hand (no WRITE macro), still recognised as writable bool
    assert table["background_thread"] == {"type": "bool", "read": True, "write": True}
    # expanded from the mutex list, with # stringification and ## pasting
    for mutex in ("ctl", "prof"):
        assert table[f"stats.mutexes.{mutex}.num_ops"]["type"] == "uint64_t"
    assert len(table) == 7


def test_parser_rejects_a_source_without_the_tree() -> None:
    with pytest.raises(mallctl_types.MallctlSourceError, match="root_node"):
        mallctl_types.parse("int main(void) { return 0; }")
