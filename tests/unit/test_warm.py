"""What the warm step links so that zig builds its runtime once, with the builds' own flags."""

from __future__ import annotations

from pathlib import Path

from jemalloc_build import toolchain, warm
from jemalloc_build.platforms import parse_triple


def _zig(triple: str) -> toolchain.Toolchain:
    return toolchain.Toolchain(cc=("python", "-m", "ziglang", "cc", "-target", f"{triple}.2.17"), version="clang",
                               host=parse_triple(triple), make="make")


def test_zig_links_a_program_and_a_library_with_the_builds_flags_and_unwinder(tmp_path: Path) -> None:
    program, library = warm.runtime_links(_zig("x86_64-linux-gnu"), tmp_path)
    for cmd in (program, library):
        assert cmd[:6] == ["python", "-m", "ziglang", "cc", "-target", "x86_64-linux-gnu.2.17"]
        # zig keys its runtime by the link's flags: -Wl,--strip-debug is what every build links with.
        assert "-Wl,--strip-debug" in cmd
        assert cmd[-1] == "-lunwind"  # the profiling builds' unwinder (platforms.BACKTRACES["zig"])
    assert "-shared" in library and "-shared" not in program
    assert program[program.index("-o") + 1] == str(tmp_path / "probe")
