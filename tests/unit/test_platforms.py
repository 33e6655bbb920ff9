"""Platform facts: triples as Python and Windows spell them, and the machines configure is told about."""

from __future__ import annotations

import pytest

from jemalloc_build import configure, manifest, settings
from jemalloc_build.platforms import CONFIGURE_SYSTEMS, configure_machines, parse_triple


@pytest.mark.parametrize(("triple", "arch", "os"), [
    ("AMD64-win32", "x86_64", "windows"),  # platform.machine() on Windows x64
    ("ARM64-win32", "aarch64", "windows"),  # ... and on Windows on Arm
    ("x86_64-linux", "x86_64", "linux"),
    ("arm64-darwin", "aarch64", "darwin"),
])
def test_machine_names_of_every_os_parse_to_one_arch(triple: str, arch: str, os: str) -> None:
    target = parse_triple(triple)
    assert (target.arch, target.os) == (arch, os)


@pytest.mark.parametrize(("cl_target", "machine", "expected"), [
    ("x86_64-pc-windows-msvc", "AMD64-win32", ("--build=x86_64-w64-mingw32", "--host=x86_64-w64-mingw32")),
    # windows-11-arm: native cl, x86-64 MSYS2 under emulation; config.guess would say x86_64 there.
    ("aarch64-pc-windows-msvc", "ARM64-win32", ("--build=aarch64-w64-mingw32", "--host=aarch64-w64-mingw32")),
    # A cross cl (x64 machine, ARM64 target) is a cross build for configure too.
    ("aarch64-pc-windows-msvc", "AMD64-win32", ("--build=x86_64-w64-mingw32", "--host=aarch64-w64-mingw32")),
])
def test_msvc_builds_name_both_machines_as_jemalloc_knows_windows(cl_target: str, machine: str,
                                                                   expected: tuple[str, ...]) -> None:
    target, build = parse_triple(cl_target), parse_triple(machine)
    cross = (target.arch, target.os) != (build.arch, build.os)
    assert configure_machines("msvc", target=target, build=build, cross=cross) == expected
    plan = configure.plan(settings.resolve(environ={}), target=target, cross=cross, manifest=manifest.load(),
                          known_options=None, family="msvc", build=build)
    assert [a for a in plan.args if a.startswith(("--build=", "--host="))] == list(expected)


@pytest.mark.parametrize(("family", "cross", "expected"), [
    ("gnu", False, ()),  # native: config.guess is right on the machine itself
    ("zig", True, ("--host=aarch64-linux-gnu",)),
])
def test_other_toolchains_name_the_host_only_when_cross(family: str, cross: bool, expected: tuple[str, ...]) -> None:
    assert family not in CONFIGURE_SYSTEMS
    target = parse_triple("aarch64-linux-gnu" if cross else "x86_64-linux-gnu")
    assert configure_machines(family, target=target, build=parse_triple("x86_64-linux"), cross=cross) == expected


def test_every_build_skips_dependency_files_and_keeps_the_os_variables() -> None:
    from jemalloc_build.platforms import make_variables

    assert "CC_MM=" in make_variables(parse_triple("x86_64-linux-gnu"))
    assert make_variables(parse_triple("aarch64-apple-darwin")) == ["CC_MM=", "LIBDIR=@rpath"]


def test_only_zig_lists_symbols_without_optimization() -> None:
    from jemalloc_build.platforms import symbol_pass_makefile

    wrapper = symbol_pass_makefile("zig")
    assert wrapper is not None
    assert wrapper.splitlines() == ["include Makefile", "$(C_SYM_OBJS): CFLAGS += -O0 -fno-sanitize=undefined"]
    assert symbol_pass_makefile("gnu") is None  # gcc -O0 is 4x slower on jemalloc.c
    assert symbol_pass_makefile("msvc") is None
