"""The release tables: which variant is published where, and the names --platforms accepts (fast, no build)."""

from __future__ import annotations

import pytest

from jemalloc_build import variants
from jemalloc_build.errors import SettingError
from wheel_builder import published


def test_msvc_platforms_publish_no_profiling_variant_and_every_other_platform_publishes_all() -> None:
    for platform in published.PLATFORMS:
        names = [v.name for v in variants.VARIANTS if published.publishes(v, platform)]
        if platform.family == "msvc":
            assert names == ["base", "stats"], platform.name  # jemalloc offers MSVC no backtrace method
        else:
            assert names == [v.name for v in variants.VARIANTS], platform.name


def test_expected_wheels_count_every_variant_on_every_platform_that_builds_it() -> None:
    windows = [p for p in published.PLATFORMS if p.family == "msvc"]
    assert len(published.expected_wheels(published.PLATFORMS)) == (
        len(published.PLATFORMS) * len(variants.VARIANTS) - 2 * len(windows))


@pytest.mark.parametrize(("tags", "name"), [
    ("manylinux2014_x86_64.manylinux_2_17_x86_64", "manylinux-x86_64"),  # auditwheel's compressed tag set
    ("manylinux_2_28_armv7l", "manylinux-armv7l"),
    ("musllinux_1_2_aarch64", "musllinux-aarch64"),
    ("macosx_10_13_x86_64", "macos-x86_64"),
    ("macosx_11_0_arm64", "macos-arm64"),
    ("win_arm64", "windows-arm64"),
])
def test_a_wheel_tag_names_its_platform(tags: str, name: str) -> None:
    platform = published.platform_of(tags)
    assert platform is not None and platform.name == name


def test_unknown_tags_have_no_platform() -> None:
    assert published.platform_of("linux_x86_64") is None  # an unrepaired wheel
    assert published.platform_of("macosx_11_0_universal2") is None


def test_platform_names_are_checked_in_one_line_with_the_accepted_values() -> None:
    assert published.platforms("all") == published.PLATFORMS
    assert [p.name for p in published.platforms("manylinux-x86_64, macos-arm64")] == ["manylinux-x86_64",
                                                                                      "macos-arm64"]
    with pytest.raises(SettingError) as info:
        published.platforms("manylinux-x86-64")
    text = str(info.value)
    assert "\n" not in text and "--platforms='manylinux-x86-64'" in text
    assert "did you mean 'manylinux-x86_64'" in text and "accepted: all, manylinux-x86_64" in text


def test_upload_order_puts_every_companion_before_the_base() -> None:
    batches = [names for _, names in published.UPLOAD_ORDER]
    assert batches[-1] == ("base",)
    assert sorted(n for names in batches for n in names) == sorted(v.name for v in variants.VARIANTS)
