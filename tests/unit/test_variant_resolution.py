"""Run-time resolution of the active variant (jemalloc_sys/_record.py), no jemalloc build.

Resolution is exercised in child programs (tests/programs/variant_paths.py) against a
site folder holding this checkout's ``jemalloc_sys`` plus companion packages written
the way the backend writes them (their records are stand-ins: these tests check which
folder wins, not what the library does; tests/integration/test_wheels.py does that
with real wheels).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, last_json, run_program

from jemalloc_build import project, variants

VERSION = project.version()


def _record(features: list[str], library: str) -> str:
    return json.dumps({"features": features, "library": library, "symbol_prefix": "_rjem_",
                       "jemalloc_version": "5.3.1-0-g0"})


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """This checkout's jemalloc_sys (stand-in record) plus stats and profiling companions."""
    shutil.copytree(ROOT / "jemalloc_sys", tmp_path / "jemalloc_sys",
                    ignore=shutil.ignore_patterns("__pycache__", "lib", "include", "bin", "_build_record.json"))
    (tmp_path / "jemalloc_sys" / "_build_record.json").write_text(_record(["background_threads_runtime_support"],
                                                                          "libjemalloc_sys.so.2"))
    for name in ("stats", "profiling"):
        variant = variants.get(name)
        folder = tmp_path / variant.package
        folder.mkdir()
        (folder / "__init__.py").write_text(variants.companion_init(variant, VERSION))
        (folder / "_build_record.json").write_text(_record(list(variant.features), "libjemalloc_sys.so.2"))
    return tmp_path


def _probe(site: Path, **env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k != "JEMALLOC_SYS_VARIANT"}
    full.update(env)
    result: list[str] = last_json(run_program(site, "variant_paths.py", env=full).stdout)
    return result


def test_the_richest_installed_variant_is_active_and_every_path_follows_it(site: Path) -> None:
    name, feats, include, libdir, library, recorded = _probe(site)
    folder = site / "jemalloc_sys_profiling"
    assert (name, recorded) == ("profiling", "profiling")
    assert feats == ["profiling", "stats"]
    assert (include, libdir, library) == (str(folder / "include"), str(folder / "lib"),
                                          str(folder / "lib" / "libjemalloc_sys.so.2"))


def test_environment_picks_a_poorer_installed_variant(site: Path) -> None:
    assert _probe(site, JEMALLOC_SYS_VARIANT="stats")[:2] == ["stats", ["stats"]]
    assert _probe(site, JEMALLOC_SYS_VARIANT="BASE")[0] == "base"
    assert _probe(site, JEMALLOC_SYS_VARIANT="base")[3] == str(site / "jemalloc_sys" / "lib")


def test_removing_the_companion_returns_to_the_next_one(site: Path) -> None:
    shutil.rmtree(site / "jemalloc_sys_profiling")
    assert _probe(site)[0] == "stats"
    shutil.rmtree(site / "jemalloc_sys_stats")
    assert _probe(site)[:2] == ["base", ["background_threads_runtime_support"]]


@pytest.mark.parametrize(("value", "message"), [
    ("fast", "JEMALLOC_SYS_VARIANT='fast' is not a variant; accepted: base, stats, profiling, debug"
             " (or unset it to use the richest installed)"),
    ("debug", "JEMALLOC_SYS_VARIANT='debug' but jemalloc-sys-debug is not installed (installed: base, stats,"
              f" profiling); pip install 'jemalloc-sys[debug]=={VERSION}' or unset JEMALLOC_SYS_VARIANT"),
])
def test_a_bad_variant_request_is_a_clear_error(site: Path, value: str, message: str) -> None:
    env = dict(os.environ, JEMALLOC_SYS_VARIANT=value)
    proc = run_program(site, "variant_paths.py", env=env, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == f"jemalloc_sys.errors.VariantError: {message}"


def test_a_companion_of_another_version_is_ignored_with_a_warning(site: Path) -> None:
    init = site / "jemalloc_sys_profiling" / "__init__.py"
    init.write_text(init.read_text().replace(VERSION, "0.0.0.1"))
    proc = run_program(site, "variant_paths.py")
    assert last_json(proc.stdout)[0] == "stats"
    assert "ignoring jemalloc_sys_profiling 0.0.0.1" in proc.stderr


def test_a_stray_folder_without_a_record_is_not_a_variant(site: Path) -> None:
    (site / "jemalloc_sys_debug").mkdir()
    (site / "jemalloc_sys_debug" / "__init__.py").write_text(f'__version__ = "{VERSION}"\n')
    assert _probe(site)[0] == "profiling"
