"""Each feature and setting shows its effect in the built library itself, read back through mallctl and ELF.

Three native builds cover it: the default configuration (with its preload
flavour), a "kitchen sink" configuration that turns on every feature that can
coexist with an 8-byte quantum and sets all four lg values plus a malloc_conf,
and the debug wheel variant (debug cannot take lg_quantum=3, see configure.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import JEMALLOC_VERSION, last_json, run_program

from jemalloc_sys import _elf

pytestmark = pytest.mark.build

KITCHEN_SINK = {
    "JEMALLOC_SYS_FEATURES": "profiling,stats,background_threads,disable_cache_oblivious",
    "JEMALLOC_SYS_WITH_MALLOC_CONF": "narenas:3,dirty_decay_ms:5000",
    "JEMALLOC_SYS_WITH_LG_PAGE": "16",
    "JEMALLOC_SYS_WITH_LG_HUGEPAGE": "21",
    "JEMALLOC_SYS_WITH_LG_QUANTUM": "3",
    "JEMALLOC_SYS_WITH_LG_VADDR": "48",
}

def probe(site: Path) -> dict[str, object]:
    facts: dict[str, object] = last_json(run_program(site, "library_facts.py").stdout)
    return facts


@pytest.fixture(scope="module")
def default_facts(default_package: Path) -> dict[str, object]:
    return probe(default_package)


@pytest.fixture(scope="module")
def sink_package(make_package: Callable[..., Path]) -> Path:
    return make_package(**KITCHEN_SINK)


@pytest.fixture(scope="module")
def debug_facts(make_package: Callable[..., Path]) -> dict[str, object]:
    return probe(make_package(JEMALLOC_SYS_BUILD_VARIANT="debug"))


@pytest.fixture(scope="module")
def sink_facts(sink_package: Path) -> dict[str, object]:
    return probe(sink_package)


def test_default_build_has_no_optional_features(default_facts: dict[str, object]) -> None:
    assert default_facts["version"] == JEMALLOC_VERSION
    assert default_facts["config.prof"] is False
    assert default_facts["config.stats"] is False
    assert default_facts["config.debug"] is False
    assert default_facts["opt.background_thread"] is False
    assert default_facts["opt.cache_oblivious"] is True
    assert default_facts["config.malloc_conf"] == ""
    assert default_facts["arenas.page"] == 4096


def test_profiling_and_stats_show_in_config(sink_facts: dict[str, object]) -> None:
    assert sink_facts["config.prof"] is True
    assert sink_facts["config.stats"] is True
    assert sink_facts["config.debug"] is False


def test_debug_shows_in_config(debug_facts: dict[str, object]) -> None:
    assert debug_facts["config.debug"] is True
    assert debug_facts["config.prof"] is True


def test_background_threads_feature_turns_the_option_on(sink_facts: dict[str, object]) -> None:
    assert sink_facts["opt.background_thread"] is True


def test_disable_cache_oblivious(sink_facts: dict[str, object]) -> None:
    assert sink_facts["opt.cache_oblivious"] is False


def test_malloc_conf_reaches_the_library(sink_facts: dict[str, object]) -> None:
    assert sink_facts["config.malloc_conf"] == "background_thread:true,narenas:3,dirty_decay_ms:5000"
    assert sink_facts["opt.narenas"] == 3
    assert sink_facts["opt.dirty_decay_ms"] == 5000


def test_lg_page_and_quantum_change_the_library(sink_facts: dict[str, object]) -> None:
    assert sink_facts["arenas.page"] == 65536
    assert sink_facts["arenas.quantum"] == 8


def test_build_record_shows_all_settings(sink_facts: dict[str, object]) -> None:
    info = sink_facts["build_info"]
    assert isinstance(info, dict)
    assert (info["lg_page"], info["lg_hugepage"], info["lg_quantum"], info["lg_vaddr"]) == (16, 21, 3, 48)
    assert info["malloc_conf"] == "background_thread:true,narenas:3,dirty_decay_ms:5000"
    for flag in ("--enable-prof", "--enable-stats", "--disable-cache-oblivious",
                 "--with-lg-page=16", "--with-lg-hugepage=21", "--with-lg-quantum=3", "--with-lg-vaddr=48"):
        assert flag in info["configure_args"]
    assert info["symbol_prefix"] == "_rjem_"
    assert info["tls_model"] == "global-dynamic"
    assert info["compiler"]["version"]


@pytest.mark.parametrize("which", ["default", "sink", "debug"])
def test_features_agree_with_mallctl(which: str, request: pytest.FixtureRequest) -> None:
    facts: dict[str, object] = request.getfixturevalue(f"{which}_facts")
    features = set(facts["features"])  # type: ignore[call-overload]
    assert ("profiling" in features) == facts["config.prof"]
    assert ("stats" in features) == facts["config.stats"]
    assert ("debug" in features) == facts["config.debug"]
    assert ("background_threads" in features) == facts["opt.background_thread"]
    assert ("disable_cache_oblivious" in features) == (not facts["opt.cache_oblivious"])
    info = facts["build_info"]
    assert isinstance(info, dict)
    assert info["malloc_conf"] == facts["config.malloc_conf"]
    assert 1 << info["lg_page"] == facts["arenas.page"]
    assert facts["version"] == info["jemalloc_version"]


def _elf_of(site: Path, flavour: str = "inprocess") -> _elf.ELFInfo:
    record = json.loads((site / "jemalloc_sys" / "_build_record.json").read_text())
    name = record["library"] if flavour == "inprocess" else record[flavour]["library"]
    return _elf.read(site / "jemalloc_sys" / "lib" / name)


def test_default_library_exports_only_prefixed_symbols_and_is_dlopen_safe(default_package: Path) -> None:
    info = _elf_of(default_package)
    assert info.soname == "libjemalloc_sys.so.2"
    assert "malloc" not in info.exported()
    assert "_rjem_malloc" in info.exported()
    assert all(name.startswith("_rjem_") for name in info.exported()), info.exported()
    assert not info.static_tls


def test_unprefixed_with_initial_exec_tls_exports_malloc_and_has_static_tls(default_package: Path) -> None:
    record = json.loads((default_package / "jemalloc_sys" / "_build_record.json").read_text())
    assert "unprefixed_malloc_on_supported_platforms" in record["preload"]["features"]
    assert "disable_initial_exec_tls" not in record["preload"]["features"]
    info = _elf_of(default_package, "preload")
    assert {"malloc", "free", "mallctl"} <= set(info.exported())
    assert info.static_tls
    # It answers as the in-process library (issue 14): an extension's DT_NEEDED binds to it by soname.
    assert info.soname == "libjemalloc_sys.so.2"


def test_import_does_not_load_the_library(default_package: Path) -> None:
    assert run_program(default_package, "lazy_load.py").stdout.strip() == "ok"


def test_load_returns_a_handle_with_c_signatures(default_package: Path) -> None:
    assert run_program(default_package, "load_signatures.py").stdout.split() == ["1024", "1024"]
