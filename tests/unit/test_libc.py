"""wheel_builder.libc: a wheel's C library and what auditwheel is told (nothing here builds)."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from wheel_builder.libc import auditwheel_plat


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="a glibc Linux host")
def test_auditwheel_is_given_the_tag_only_where_it_offers_it() -> None:
    machine = platform.machine()
    assert auditwheel_plat(f"manylinux_2_17_{machine}") == f"manylinux_2_17_{machine}"
    # auditwheel lists musllinux tags only on a musl host, and foreign architectures never.
    assert auditwheel_plat(f"musllinux_1_2_{machine}") == "auto"
    assert auditwheel_plat("manylinux_2_17_s390x" if machine != "s390x" else "manylinux_2_17_x86_64") == "auto"


def test_the_targets_c_library_folders_come_from_musls_path_file(tmp_path: Path) -> None:
    from wheel_builder.libc import foreign_libc_dirs

    (tmp_path / "lib-musl").mkdir()
    (tmp_path / "usr-lib-musl").mkdir()
    # Debian writes one folder per line; musl's loader also accepts colons. Missing folders are left out.
    (tmp_path / "ld-musl-x86_64.path").write_text(f"{tmp_path / 'lib-musl'}\n{tmp_path / 'gone'}:{tmp_path / 'usr-lib-musl'}\n")
    assert foreign_libc_dirs("musllinux_1_2_x86_64", etc=tmp_path) == [tmp_path / "lib-musl", tmp_path / "usr-lib-musl"]
    assert foreign_libc_dirs("musllinux_1_2_aarch64", etc=tmp_path) == []  # no path file for that machine
    assert foreign_libc_dirs("manylinux_2_17_x86_64", etc=tmp_path) == []
