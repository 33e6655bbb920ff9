"""Which C library a Linux wheel is for, and what auditwheel needs to be told about it.

auditwheel assumes the machine it runs on: its ``--plat`` choices, and the folders it searches
for a library's dependencies, are this machine's. A wheel for the other C library (musllinux
built on a glibc machine, as the local main command does) needs the target's folders instead,
and the C library itself must never be grafted into the wheel.
"""

from __future__ import annotations

import platform
import re
from pathlib import Path


def host_libc_tag() -> str:
    return "musllinux" if platform.libc_ver()[0] != "glibc" else "manylinux"


def foreign_libc(wheel_tag: str) -> bool:
    """A Linux wheel for the other C library than this machine's (musllinux built on glibc, or back)."""
    return wheel_tag.startswith(("manylinux", "musllinux")) and not wheel_tag.startswith(host_libc_tag())


def auditwheel_plat(wheel_tag: str) -> str:
    """The ``--plat`` value for auditwheel: the target's tag, or "auto" where auditwheel cannot name it.

    auditwheel offers ``--plat`` choices for this machine's architecture and C
    library only (manylinux tags on glibc, musllinux on musl); for a foreign
    one "auto" takes the policy from the wheel, and ``verify`` checks the tag.
    """
    if wheel_tag.startswith(host_libc_tag()) and wheel_tag.endswith("_" + platform.machine()):
        return wheel_tag
    return "auto"


def foreign_libc_dirs(wheel_tag: str, etc: Path = Path("/etc")) -> list[Path]:
    """Where this machine keeps the target's C library, for a musllinux wheel: ``/etc/ld-musl-<arch>.path``.

    musl's loader reads that file as a list of folders separated by colons or newlines
    (Debian's musl package writes one per line). Empty when the file is missing.
    """
    match = re.fullmatch(r"musllinux_\d+_\d+_(\w+)", wheel_tag)
    arch = match.group(1) if match else ""
    listing = etc / f"ld-musl-{arch}.path"
    if not arch or not listing.is_file():
        return []
    return [Path(d) for d in listing.read_text().replace(":", "\n").split() if Path(d).is_dir()]


def search_args(wheel_tag: str, *, fallback: Path) -> list[str]:
    """auditwheel repair's options for where to look for system libraries.

    Empty for this machine's own C library; for the other one, its folders on this machine
    (``fallback``, an empty folder, when there are none), because this machine's folders hold
    files of the same names (glibc's ``libc.so`` is a linker script).
    """
    if not foreign_libc(wheel_tag):
        return []
    return ["--ldpaths", ":".join(map(str, foreign_libc_dirs(wheel_tag))) or str(fallback)]
