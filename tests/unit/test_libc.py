"""wheel_builder.pipeline's pure helpers: nothing here builds."""

from __future__ import annotations

import platform

import pytest

from wheel_builder.pipeline import auditwheel_plat


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="a glibc Linux host")
def test_auditwheel_is_given_the_tag_only_where_it_offers_it() -> None:
    machine = platform.machine()
    assert auditwheel_plat(f"manylinux_2_17_{machine}") == f"manylinux_2_17_{machine}"
    # auditwheel lists musllinux tags only on a musl host, and foreign architectures never.
    assert auditwheel_plat(f"musllinux_1_2_{machine}") == "auto"
    assert auditwheel_plat("manylinux_2_17_s390x" if machine != "s390x" else "manylinux_2_17_x86_64") == "auto"
