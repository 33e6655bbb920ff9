"""What a release publishes, as tables: the platforms, which variants each gets, the upload order.

The release workflow's matrix, cibuildwheel's build identifiers and the release
check's expected file list are all compared with (or derived from) these tables,
so a platform or a variant is added in one place. A variant is published for a
platform unless its features cannot be built with that platform's toolchain:
profiling needs a backtrace method, and MSVC has none
(``jemalloc_build.platforms.BACKTRACES``), so the profiling and debug companions
have no Windows wheels; on Windows ``pip install 'jemalloc-sys[profiling]'``
tries their sdists, which stop with the builder's one-line error when built with
MSVC (a GCC-compatible compiler, such as MinGW-w64's, is not refused).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from jemalloc_build import variants
from jemalloc_build.errors import SettingError
from jemalloc_build.platforms import backtrace_for


@dataclass(frozen=True, kw_only=True)
class Platform:
    name: str
    """What ``--platforms`` calls it; the ``jemalloc_build.cross`` target name where one exists."""
    identifier: str
    """cibuildwheel's build identifier without the Python tag (``cp312-<identifier>``)."""
    runner: str
    """The GitHub runner of the workflow job that builds it."""
    arch: str
    """``CIBW_ARCHS`` on that runner."""
    family: str
    """The toolchain family building it (a key of ``jemalloc_build.platforms.BACKTRACES``)."""
    tag: str
    """A regular expression one of the wheel's platform tags must match in full."""
    qemu: bool = False
    """Built under QEMU emulation on an x86-64 runner."""


def _linux(libc: str, arch: str, runner: str = "ubuntu-latest", *, qemu: bool = False) -> Platform:
    tag = rf"manylinux(_\d+_\d+|2014)_{arch}" if libc == "manylinux" else rf"musllinux_\d+_\d+_{arch}"
    return Platform(name=f"{libc}-{arch}", identifier=f"{libc}_{arch}", runner=runner, arch=arch, family="gnu",
                    tag=tag, qemu=qemu)


PLATFORMS: tuple[Platform, ...] = (
    _linux("manylinux", "x86_64"),
    _linux("musllinux", "x86_64"),
    _linux("manylinux", "aarch64", "ubuntu-24.04-arm"),
    _linux("musllinux", "aarch64", "ubuntu-24.04-arm"),
    _linux("manylinux", "i686"),  # x86-64 runs i686 natively; musllinux i686 is skipped in [tool.cibuildwheel]
    _linux("manylinux", "armv7l", qemu=True),
    _linux("manylinux", "ppc64le", qemu=True),
    _linux("manylinux", "s390x", qemu=True),
    Platform(name="macos-x86_64", identifier="macosx_x86_64", runner="macos-15-intel", arch="x86_64",
             family="apple", tag=r"macosx_\d+_\d+_x86_64"),
    Platform(name="macos-arm64", identifier="macosx_arm64", runner="macos-14", arch="arm64", family="apple",
             tag=r"macosx_\d+_\d+_arm64"),
    Platform(name="windows-amd64", identifier="win_amd64", runner="windows-latest", arch="AMD64", family="msvc",
             tag=r"win_amd64"),
    Platform(name="windows-arm64", identifier="win_arm64", runner="windows-11-arm", arch="ARM64", family="msvc",
             tag=r"win_arm64"),
)
"""Every platform a release has wheels for; each variant also has one sdist for all the others."""

BY_NAME: dict[str, Platform] = {p.name: p for p in PLATFORMS}

UPLOAD_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("companions", tuple(v.name for v in variants.VARIANTS if not v.is_base)),
    ("base", tuple(v.name for v in variants.VARIANTS if v.is_base)),
)
"""Upload batches in order: the companions first, so the base's extras never pin a companion PyPI lacks."""


def publishes(variant: variants.Variant, platform: Platform) -> bool:
    """True when ``variant`` has a wheel for ``platform``: every feature it needs builds with that toolchain."""
    return "profiling" not in variant.features or backtrace_for(platform.family).method is not None


def platforms(names: str) -> tuple[Platform, ...]:
    """The platforms of a comma-separated ``--platforms`` value ('' or 'all': every one)."""
    if names.strip() in ("", "all"):
        return PLATFORMS
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in BY_NAME:
            close = difflib.get_close_matches(name, BY_NAME, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SettingError(f"--platforms={name!r} is not a published platform{hint}; accepted: all,"
                               f" {', '.join(BY_NAME)}")
        chosen.append(BY_NAME[name])
    return tuple(chosen)


def platform_of(tags: str) -> Platform | None:
    """The platform whose pattern one of a wheel's (compressed, ``.``-joined) platform tags matches."""
    for platform in PLATFORMS:
        if any(re.fullmatch(platform.tag, tag) for tag in tags.split(".")):
            return platform
    return None


def wheel_name(variant: variants.Variant, version: str, platform: Platform) -> str:
    """How a missing wheel is named in a report (its platform tag is a pattern, not a fixed string)."""
    return f"{stem(variant)}-{version}-py3-none-<{platform.tag}>.whl"


def sdist_name(variant: variants.Variant, version: str) -> str:
    return f"{stem(variant)}-{version}.tar.gz"


def stem(variant: variants.Variant) -> str:
    """The distribution's name as file names spell it (``jemalloc_sys_stats``)."""
    return variant.distribution.replace("-", "_")


def expected_wheels(chosen: tuple[Platform, ...]) -> list[tuple[variants.Variant, Platform]]:
    """Every (variant, platform) pair that has a wheel, in table order."""
    return [(v, p) for p in chosen for v in variants.VARIANTS if publishes(v, p)]
