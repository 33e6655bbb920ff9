"""jemalloc_build.variants: the variant table, its features and a companion's pyproject.toml (no build)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from jemalloc_build import configure, features, project, settings, variants
from jemalloc_build.errors import SettingError

VERSION = project.version()


def test_companion_sdists_carry_the_cibuildwheel_configuration() -> None:
    """cibuildwheel reads [tool.cibuildwheel] from the sdist it builds: without it a companion would be built
    for every interpreter, repaired by default commands and never smoke-tested."""
    base = project.pyproject()
    for variant in variants.VARIANTS[1:]:
        data = variants.companion_pyproject(variant, base, "1.2.3.4")
        assert data["tool"]["cibuildwheel"] == base["tool"]["cibuildwheel"], variant.name
        assert data["tool"]["jemalloc-sys"] == {"variant": variant.name}


def test_a_base_without_cibuildwheel_configuration_gives_companions_none() -> None:
    base = project.pyproject()
    bare = {**base, "tool": {k: v for k, v in base["tool"].items() if k != "cibuildwheel"}}
    data = variants.companion_pyproject(variants.get("stats"), bare, "1.2.3.4")
    assert "cibuildwheel" not in data["tool"]


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

    base = project.pyproject()
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
