"""Toolchain detection, including MSVC's cl, which has no --version or -dumpmachine."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from jemalloc_build import toolchain
from jemalloc_build.errors import ToolchainError


def fake_cl(tmp_path: Path) -> Path:
    # A stand-in with cl's habits: banner on stderr, exit 0 when run alone, no GNU flags.
    cl = tmp_path / "cl"
    cl.write_text("#!/bin/sh\n[ $# -eq 0 ] || exit 2\n"
                  "echo 'Microsoft (R) C/C++ Optimizing Compiler Version 19.40.33811 for x64' >&2\n")
    cl.chmod(0o755)
    return cl


def test_cl_version_from_its_banner_and_target_from_the_vs_shell(tmp_path: Path) -> None:
    env = {**os.environ, "CC": str(fake_cl(tmp_path)), "VSCMD_ARG_TGT_ARCH": "arm64"}
    tc = toolchain.detect(environ=env)
    assert tc.version.startswith("Microsoft (R) C/C++ Optimizing Compiler Version 19.40")
    assert (tc.host.arch, tc.host.os) == ("aarch64", "windows")


def test_cl_outside_a_developer_shell_is_a_one_line_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VSCMD_ARG_TGT_ARCH"}
    env["CC"] = str(fake_cl(tmp_path))
    with pytest.raises(ToolchainError, match=r"VSCMD_ARG_TGT_ARCH=\(unset\): cannot tell what CC=.*cl targets"):
        toolchain.detect(environ=env)


def test_gnu_compilers_report_their_triple() -> None:
    tc = toolchain.detect(environ=os.environ)
    assert tc.version and tc.host.os == "linux"


def test_the_identity_of_zig_does_not_depend_on_how_python_is_spelled(tmp_path: Path) -> None:
    """The cache key names the compiler, not the interpreter path that launched it (issue 11)."""
    pytest.importorskip("ziglang")
    other = tmp_path / "python3"
    other.symlink_to(sys.executable)
    one = toolchain._identity((sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17"), None)
    two = toolchain._identity((str(other), "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17"), None)
    assert one == two and one[0] == "zig" and one[2:] == ("cc", "-target", "x86_64-linux-gnu.2.17")
    from jemalloc_build import cross

    binary = (cross.zig_executable(), "cc", "-target", "x86_64-linux-gnu.2.17")
    assert toolchain._identity(binary, None) == one  # the builder runs the binary itself: still the same compiler


def test_the_identity_of_a_program_is_its_resolved_path(tmp_path: Path) -> None:
    link = tmp_path / "cc"
    link.symlink_to(shutil.which("cc") or "/usr/bin/cc")
    assert toolchain._identity((str(link), "-O2"), None) == toolchain._identity(("cc", "-O2"), os.environ["PATH"])
