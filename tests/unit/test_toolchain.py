"""Toolchain detection, including MSVC's cl, which has no --version or -dumpmachine."""

from __future__ import annotations

import os
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
    tc = toolchain.detect()
    assert tc.version and tc.host.os == "linux"
