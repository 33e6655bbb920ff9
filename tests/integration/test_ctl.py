"""The control API (``jemalloc_sys.ctl``) and the type table it relies on, in built packages.

The type table is derived from ``src/ctl.c`` at build time; its parser is checked
on a hand-made excerpt in tests/unit/test_mallctl_types.py, the real table shipped
in a built package here. Every runtime check runs a child program of
``tests/programs/`` that imports the package under test and prints JSON the
parent asserts on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import JEMALLOC_VERSION, last_json, run_program

MiB = 1 << 20


def _child_json(site: Path, name: str, **env: str) -> Any:
    return last_json(run_program(site, name, env=dict(os.environ, **env)).stdout)


@pytest.mark.build
def test_shipped_table_matches_the_documented_types(stats_package: Path) -> None:
    doc = json.loads((stats_package / "jemalloc_sys" / "_mallctl_types.json").read_text())
    names = doc["names"]
    # Types as jemalloc's manual documents them (man jemalloc, MALLCTL NAMESPACE).
    documented = {"version": "const char *", "epoch": "uint64_t", "background_thread": "bool",
                  "max_background_threads": "size_t", "arenas.narenas": "unsigned", "opt.dirty_decay_ms": "ssize_t",
                  "stats.allocated": "size_t", "stats.resident": "size_t", "thread.allocated": "uint64_t",
                  "thread.allocatedp": "uint64_t *", "prof.active": "bool", "prof.dump": "const char *",
                  "prof.reset": "size_t", "arena.*.dirty_decay_ms": "ssize_t"}
    for name, ctype in documented.items():
        assert names[name]["type"] == ctype, name
    assert names["stats.allocated"]["requires"] == "config_stats"
    assert names["prof.active"]["requires"] == "config_prof"
    assert names["version"]["write"] is False and names["background_thread"]["write"] is True
    assert "narenas" in doc["conf_options"] and "prof_prefix" in doc["conf_options"]
    assert len(names) > 300


@pytest.mark.build
def test_stats_follow_a_64_mib_allocation_and_purge(stats_package: Path) -> None:
    # Decay off: freed pages stay resident until *we* purge, so the purge is what moves `resident`.
    out = _child_json(stats_package, "ctl_stats.py", _RJEM_MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1")
    assert out["version"] == JEMALLOC_VERSION
    assert out["epoch1"] > out["epoch0"]
    before, during, freed, purged = out["before"], out["during"], out["after_free"], out["after_purge"]
    grew = during["allocated"] - before["allocated"]
    assert grew >= 64 * MiB, f"allocated grew by {grew} bytes for 64 MiB allocated ({before} -> {during})"
    assert out["mib_during"] == during["allocated"]
    shrank = during["allocated"] - freed["allocated"]
    assert shrank >= 64 * MiB, f"allocated fell by {shrank} bytes after freeing 64 MiB ({during} -> {freed})"
    assert freed["resident"] >= 64 * MiB, f"freed pages should stay resident with decay off: {freed}"
    released = freed["resident"] - purged["resident"]
    assert released >= 60 * MiB, f"purge released only {released} bytes of resident ({freed} -> {purged})"
    assert out["thread_delta"] >= 3 * MiB
    assert out["thread_pointer_matches"] is True
    assert out["report_version"] == out["version"]
    assert out["report_allocated"] > 0
    assert out["bg"] == [True, 1]
    assert out["bg_off"] is False


@pytest.mark.build
def test_error_paths_raise_the_documented_exceptions(make_package: Callable[..., Path]) -> None:
    out = _child_json(make_package(), "ctl_errors.py")  # the default build: no stats, no profiling
    assert out["unknown"][:3] == ["UnknownNameError", 2, "stats.allocatd"]
    assert "did you mean 'stats.allocated'" in out["unknown"][3]
    assert out["wrong_size"][:2] == ["WrongTypeError", 22] and "unsigned" in out["wrong_size"][3]
    assert out["wrong_python_type"][0] == "WrongTypeError"
    assert out["read_only"][:2] == ["ReadOnlyError", 1]
    kind, code, name, message, feature = out["no_stats"]
    assert (kind, code, name, feature) == ("FeatureMissingError", 2, "stats.allocated", "stats")
    assert "jemalloc-sys[stats]" in message and "JEMALLOC_SYS_FEATURES=stats" in message
    assert out["no_prof"][0] == "FeatureMissingError" and out["no_prof"][4] == "profiling"
    assert "jemalloc-sys[profiling]" in out["no_prof"][3]
    assert out["index"][:2] == ["UnknownNameError", 2]


@pytest.mark.build
def test_process_allocator_refuses_when_malloc_is_not_jemalloc(stats_package: Path) -> None:
    message = _child_json(stats_package, "ctl_not_process_allocator.py", LD_PRELOAD="")
    assert message is not None and "not jemalloc" in message and "jemalloc-sys run" in message


@pytest.mark.build
def test_every_derived_type_has_the_size_the_library_expects(stats_package: Path) -> None:
    # jemalloc answers EINVAL when the buffer size differs from sizeof(type): reading every readable
    # name with the derived type checks the whole table against the compiled library.
    out = _child_json(stats_package, "ctl_sweep.py")
    assert out["wrong"] == []
    assert out["checked"] > 300, out


@pytest.mark.build
def test_without_a_shipped_table_the_core_names_still_work(stats_package: Path, tmp_path: Path) -> None:
    # What a JEMALLOC_OVERRIDE package looks like to ctl: a library and a record, no derived table.
    import shutil

    site = tmp_path / "site"
    shutil.copytree(stats_package, site)
    (site / "jemalloc_sys" / "_mallctl_types.json").unlink()
    out = _child_json(site, "ctl_without_table.py")
    assert out["allocated"] > 0 and out["narenas"] >= 1
    assert "ships no type table" in out["untyped"] and "read(name, 'size_t')" in out["untyped"]
