"""jemalloc_build.cross: the table of cross targets, their environments and configure plans (no build)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jemalloc_build import configure, cross, platforms
from jemalloc_build.errors import SettingError


def test_unknown_target_is_a_one_line_error() -> None:
    with pytest.raises(SettingError, match=r"'macos-arm46' is unknown \(did you mean 'macos-arm64'\?\); accepted: "):
        cross.get("macos-arm46")


@pytest.mark.parametrize("name", sorted(cross.TARGETS))
def test_table_entries_agree_with_the_platform_data(name: str) -> None:
    target = cross.TARGETS[name]
    parsed = platforms.parse_triple(target.triple)
    wheel_os = {"linux": ("manylinux_", "musllinux_"), "windows": ("win_",), "darwin": ("macosx_",)}[parsed.os]
    assert target.wheel_tag.startswith(wheel_os)
    if parsed.os == "darwin":
        # The wheel tag, the deployment target and the zig target name one macOS version.
        version = target.deployment_target.replace(".", "_")
        assert f"_{version}_" in target.wheel_tag and target.zig_target.endswith(f".{target.deployment_target}")
        assert target.nm and target.darwin_stub


def test_environment_names_the_triple_and_a_darwin_stub(tmp_path: Path) -> None:
    if cross.missing_tools(cross.get("macos-arm64")):
        pytest.skip(f"macOS toolchain missing: {cross.missing_tools(cross.get('macos-arm64'))}")
    env = cross.environment("macos-arm64", tmp_path)
    assert env["JEMALLOC_SYS_TARGET"] == "aarch64-apple-darwin"
    assert env["MACOSX_DEPLOYMENT_TARGET"] == "11.0"
    assert "aarch64-macos.11.0" in env["CC"]
    stub = tmp_path / "darwin-include" / "sys" / "syscall.h"
    assert stub.is_file() and f"-idirafter {tmp_path / 'darwin-include'}" in env["CPPFLAGS"]


def test_zig_builds_share_the_global_cache_and_keep_objects_private(tmp_path: Path) -> None:
    zig = tuple(cross.compiler_command(cross.get("manylinux-aarch64")))
    shared = tmp_path / "shared-zig"
    env = cross.build_env(zig, tmp_path / "build", shared=shared)
    assert env == {"ZIG_GLOBAL_CACHE_DIR": str(shared), "ZIG_LOCAL_CACHE_DIR": env["ZIG_LOCAL_CACHE_DIR"]}
    assert Path(env["ZIG_LOCAL_CACHE_DIR"]).parent == tmp_path / "build"
    # a caller's own global cache wins; a non-zig compiler gets nothing
    assert cross.build_env(zig, tmp_path / "build", shared=shared,
                           environ={"ZIG_GLOBAL_CACHE_DIR": "/elsewhere"})["ZIG_GLOBAL_CACHE_DIR"] == "/elsewhere"
    assert cross.build_env(("gcc",), tmp_path / "build", shared=shared) == {}


@pytest.mark.parametrize("name", sorted(cross.TARGETS))
def test_plan_cross_configures_with_portable_sizes(name: str) -> None:
    from jemalloc_build import manifest
    from jemalloc_build.settings import BuildSettings

    target = platforms.parse_triple(cross.TARGETS[name].triple)
    plan = configure.plan(BuildSettings(), target=target, cross=True, manifest=manifest.load(),
                          known_options=frozenset())
    assert f"--host={target.triple}" in plan.args
    assert plan.lg["lg_page"] == platforms.portable_defaults(target).lg_page is not None
    assert plan.symbol_prefix == configure.PREFIX
