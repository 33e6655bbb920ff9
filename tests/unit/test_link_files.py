"""jemalloc_build.link_files: the pkg-config and CMake files a package ships (no build).

tests/integration/test_downstream.py runs real consumers against them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import need_tool, run_checked

from jemalloc_build import link_files


def test_pkgconfig_file_follows_its_folder(tmp_path: Path) -> None:
    """pkg-config resolves every path from ${pcfiledir}: moving the tree moves the flags."""
    pkg_config = need_tool("pkg-config")
    first = tmp_path / "first"
    pc = link_files.write_pkgconfig(first / "lib" / "pkgconfig", library="libjemalloc_sys.so.2", version="5.3.1",
                                    symbol_prefix="_rjem_")
    assert str(tmp_path) not in pc.read_text(encoding="utf-8")
    moved = tmp_path / "moved"
    first.rename(moved)
    env = {**os.environ, "PKG_CONFIG_PATH": str(moved / "lib" / "pkgconfig")}
    flags = run_checked([pkg_config, "--cflags", "--libs", "jemalloc-sys"], env=env).stdout.split()
    include = next(f[2:] for f in flags if f.startswith("-I"))
    libdir = next(f[2:] for f in flags if f.startswith("-L"))
    assert Path(include).resolve() == (moved / "include").resolve()
    assert Path(libdir).resolve() == (moved / "lib").resolve()
    assert "-ljemalloc_sys" in flags
    assert run_checked([pkg_config, "--modversion", "jemalloc-sys"], env=env).stdout.strip() == "5.3.1"
    assert run_checked([pkg_config, "--variable=symbol_prefix", "jemalloc-sys"], env=env).stdout.strip() == "_rjem_"
    assert run_checked([pkg_config, "--atleast-version=5", "jemalloc-sys"], env=env).returncode == 0


@pytest.mark.parametrize(("library", "libs"), [
    ("libjemalloc_sys.so.2", "-L${libdir} -ljemalloc_sys"),
    ("libjemalloc_sys.2.dylib", "${libdir}/libjemalloc_sys.2.dylib"),
    ("jemalloc_sys.dll", "${libdir}/jemalloc_sys.lib"),
])
def test_pkgconfig_names_the_shipped_file_per_platform(library: str, libs: str) -> None:
    text = link_files.pkgconfig_text(prefix_expr="${pcfiledir}/../..", libdir="${prefix}/lib",
                                     includedir="${prefix}/include", library=library, version="5.3.1")
    assert f"Libs: {libs}\n" in text


def test_unknown_library_shape_is_refused() -> None:
    with pytest.raises(ValueError, match=r"libjemalloc\.a.*known endings: \.so\.2"):
        link_files.link_style("libjemalloc.a")


def test_cmake_config_has_no_absolute_path(tmp_path: Path) -> None:
    config, version = link_files.write_cmake_config(tmp_path / "lib" / "cmake" / "jemalloc-sys",
                                                    library="libjemalloc_sys.so.2", version="5.3.1")
    text = config.read_text(encoding="utf-8")
    assert str(tmp_path) not in text
    assert '"${CMAKE_CURRENT_LIST_DIR}/../../.."' in text
    assert 'IMPORTED_LOCATION "${_jemalloc_sys_prefix}/lib/libjemalloc_sys.so.2"' in text
    assert 'set(PACKAGE_VERSION "5.3.1")' in version.read_text(encoding="utf-8")


