"""Variants behind the extras: the table, the companion metadata the backend makes, and run-time resolution.

Fast: no jemalloc build. Resolution is exercised in child interpreters against
a site folder holding this checkout's ``jemalloc_sys`` plus companion packages
written the way the backend writes them (their records are stand-ins: these
tests check which folder wins, not what the library does; tests/test_wheels.py
does that with real wheels).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from email.parser import HeaderParser
from pathlib import Path

import pytest
import tomllib
from conftest import ROOT, run_python

from jemalloc_build import configure, features, sbom, settings, variants
from jemalloc_build.errors import SettingError
from jemalloc_build.manifest import load as load_manifest

VERSION = re.search(r'__version__ = "([^"]+)"', (ROOT / "jemalloc_sys" / "_version.py").read_text()).group(1)  # type: ignore[union-attr]


def test_chain_each_variant_is_a_superset_of_the_one_before() -> None:
    names = [v.name for v in variants.VARIANTS]
    assert names == ["base", "stats", "profiling", "debug"]
    for poorer, richer in zip(variants.VARIANTS, variants.VARIANTS[1:]):
        assert set(poorer.features) < set(richer.features), (poorer.name, richer.name)


def test_names_of_distributions_packages_and_extras() -> None:
    stats = variants.get("stats")
    assert (stats.distribution, stats.package, stats.extra) == ("jemalloc-sys-stats", "jemalloc_sys_stats", "stats")
    base = variants.get("base")
    assert (base.distribution, base.package, base.extra) == ("jemalloc-sys", "jemalloc_sys", None)


def test_the_table_follows_the_declared_variant_names() -> None:
    from jemalloc_sys import _names

    assert _names.VARIANTS == tuple(v.name for v in variants.VARIANTS)


def test_extras_pin_the_companion_at_the_same_version() -> None:
    assert variants.extras_require("9.9.9.1") == {
        "stats": ["jemalloc-sys-stats==9.9.9.1"],
        "profiling": ["jemalloc-sys-profiling==9.9.9.1"],
        "debug": ["jemalloc-sys-debug==9.9.9.1"],
    }


def test_unknown_variant_is_a_one_line_error_with_the_accepted_names() -> None:
    with pytest.raises(SettingError) as info:
        variants.get("profilling", source="config setting variant")
    text = str(info.value)
    assert "\n" not in text
    assert "'profilling'" in text and "did you mean 'profiling'" in text
    assert "base, stats, profiling, debug" in text


def _features(**env: str) -> frozenset[str]:
    return configure.requested_features(settings.resolve(environ=env))


def test_variant_features_come_first_and_user_features_are_kept() -> None:
    assert _features(JEMALLOC_SYS_BUILD_VARIANT="profiling", JEMALLOC_SYS_FEATURES="debug, stats") == {
        "stats", "profiling", "debug", *features.DEFAULT_FEATURES}


def test_a_variant_feature_cannot_be_dropped() -> None:
    assert "stats" in _features(JEMALLOC_SYS_BUILD_VARIANT="stats")
    with pytest.raises(SettingError, match="drops stats, which the stats variant is built with"):
        _features(JEMALLOC_SYS_BUILD_VARIANT="stats", JEMALLOC_SYS_FEATURES="-stats")


def test_companion_pyproject_is_valid_and_depends_on_the_base(tmp_path: Path) -> None:
    import tomli_w

    base = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = variants.companion_pyproject(variants.get("debug"), base, VERSION)
    assert data["project"]["name"] == "jemalloc-sys-debug"
    assert data["project"]["dependencies"] == [f"jemalloc-sys=={VERSION}"]
    assert data["tool"]["setuptools"]["packages"] == ["jemalloc_sys_debug"]
    assert data["tool"]["jemalloc-sys"] == {"variant": "debug"}
    assert data["build-system"] == base["build-system"]
    text = tomli_w.dumps(data)
    assert tomllib.loads(text) == data
    (tmp_path / "pyproject.toml").write_text(text)
    proc = subprocess.run([sys.executable, "-m", "validate_pyproject", str(tmp_path / "pyproject.toml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_sbom_names_jemalloc_and_its_source_checksum() -> None:
    mf = load_manifest()
    record = {"features": ["stats"], "configure_args": ["--enable-stats"], "symbol_prefix": "_rjem_",
              "source": {"sha256": mf.tarball.sha256}}
    doc = json.loads(sbom.render(mf, record, distribution="jemalloc-sys-stats", version=VERSION))
    assert doc["bomFormat"] == "CycloneDX"
    (component,) = doc["components"]
    assert (component["name"], component["version"]) == ("jemalloc", "5.3.1")
    assert component["licenses"] == [{"license": {"id": "BSD-2-Clause"}}]
    hashes = [h["content"] for ref in component["externalReferences"] for h in ref.get("hashes", [])]
    assert hashes == [mf.tarball.sha256]
    assert sbom.render(mf, record, distribution="x", version="1") == sbom.render(mf, record, distribution="x",
                                                                                 version="1")


# --- the backend's metadata for each distribution (no compilation: prepare_metadata only) ---

def _metadata(tmp_path: Path, config: dict[str, str], env: dict[str, str] | None = None) -> HeaderParser:
    code = (
        "import sys, json; sys.path.insert(0, '_backend');"
        "import jemalloc_sys_backend as b;"
        f"print(b.prepare_metadata_for_build_wheel({str(tmp_path)!r}, {config!r}))"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("JEMALLOC_SYS_")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=full_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = tmp_path / proc.stdout.strip().splitlines()[-1]
    return HeaderParser().parsestr((info / "METADATA").read_text())  # type: ignore[return-value]


def test_base_metadata_declares_the_extras_with_exact_pins(tmp_path: Path) -> None:
    meta = _metadata(tmp_path, {})
    assert meta["Name"] == "jemalloc-sys" and meta["Version"] == VERSION  # type: ignore[index]
    assert set(meta.get_all("Provides-Extra")) == {"stats", "profiling", "debug"}  # type: ignore[attr-defined]
    requires = [r.replace(" ", "") for r in meta.get_all("Requires-Dist")]  # type: ignore[attr-defined]
    assert f'jemalloc-sys-profiling=={VERSION};extra=="profiling"' in requires


def test_the_base_tree_refuses_to_build_a_companion_wheel(tmp_path: Path) -> None:
    code = ("import sys; sys.path.insert(0, '_backend'); import jemalloc_sys_backend as b;"
            f"b.prepare_metadata_for_build_wheel({str(tmp_path)!r}, {{'variant': 'profiling'}})")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: variant 'profiling' asked for, but this tree builds the base distribution")
    assert "python -m build --sdist -C variant=profiling" in line


def test_backend_rejects_an_unknown_variant_in_one_line(tmp_path: Path) -> None:
    code = ("import sys; sys.path.insert(0, '_backend'); import jemalloc_sys_backend as b;"
            f"b.build_wheel({str(tmp_path)!r}, {{'variant': 'fast'}})")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: config setting variant='fast' is not a variant; accepted: base, stats, profiling, debug")
    assert list(tmp_path.iterdir()) == []


# --- run-time resolution ---

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


PROBE = ("import jemalloc_sys as j, json; print(json.dumps([j.variant(), sorted(j.features()), j.get_include(),"
         " j.get_library_dir(), str(j.library_path()), j.build_info()['variant']]))")


def _probe(site: Path, **env: str) -> list[str]:
    full = {k: v for k, v in os.environ.items() if k != "JEMALLOC_SYS_VARIANT"}
    full.update(env)
    result: list[str] = json.loads(run_python(site, PROBE, env=full).stdout)
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
    proc = run_python(site, "import jemalloc_sys; jemalloc_sys.variant()", env=env, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == f"jemalloc_sys.errors.VariantError: {message}"


def test_a_companion_of_another_version_is_ignored_with_a_warning(site: Path) -> None:
    init = site / "jemalloc_sys_profiling" / "__init__.py"
    init.write_text(init.read_text().replace(VERSION, "0.0.0.1"))
    proc = run_python(site, "import logging; logging.basicConfig(); import jemalloc_sys; print(jemalloc_sys.variant())")
    assert proc.stdout.strip() == "stats"
    assert "ignoring jemalloc_sys_profiling 0.0.0.1" in proc.stderr


def test_a_stray_folder_without_a_record_is_not_a_variant(site: Path) -> None:
    (site / "jemalloc_sys_debug").mkdir()
    (site / "jemalloc_sys_debug" / "__init__.py").write_text(f'__version__ = "{VERSION}"\n')
    assert _probe(site)[0] == "profiling"

