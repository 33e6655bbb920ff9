"""The C toolchain as the build sees it: which compiler, for which target."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolchainError
from .platforms import Target, parse_triple


@dataclass(frozen=True, kw_only=True)
class Toolchain:
    cc: tuple[str, ...]
    """The compiler command (``CC`` may carry arguments, e.g. ``zig cc -target ...``)."""
    version: str
    """First line of ``cc --version``: part of the cache key and the build record."""
    host: Target
    """What we build for: ``JEMALLOC_SYS_TARGET``, else what the compiler targets (``-dumpmachine``)."""
    make: str

    @property
    def cross(self) -> bool:
        """True when the library cannot run on this machine (configure then needs ``--host``)."""
        native = parse_triple(f"{platform.machine()}-{sys.platform}")
        return (self.host.arch, self.host.os) != (native.arch, native.os)


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ToolchainError(
            f"CC={shlex.join(cmd[:-1])}: cannot run the C compiler ({exc.strerror});"
            " install one (apt-get install gcc, xcode-select --install, or MSYS2 for Windows) or set CC"
        ) from None
    if proc.returncode != 0:
        raise ToolchainError(
            f"CC={shlex.join(cmd[:-1])}: '{cmd[-1]}' failed (exit {proc.returncode}); set CC to a working C compiler",
            detail=proc.stderr[-2000:],
        )
    return proc.stdout.strip()


def detect(*, target: str = "", environ: dict[str, str] | None = None) -> Toolchain:
    env = dict(os.environ if environ is None else environ)
    cc = tuple(shlex.split(env.get("CC", "") or "cc"))
    if not cc or shutil.which(cc[0], path=env.get("PATH")) is None:
        raise ToolchainError(
            f"CC={' '.join(cc) or 'cc'}: C compiler not found on PATH;"
            " install one (apt-get install gcc / xcode-select --install) or set CC to its path"
        )
    make = env.get("MAKE", "") or next((m for m in ("make", "gmake", "mingw32-make") if shutil.which(m)), "")
    if not make or shutil.which(make, path=env.get("PATH")) is None:
        raise ToolchainError(
            f"MAKE={make or 'make'}: GNU make not found on PATH; install it (apt-get install make / brew install make)"
        )
    if Path(cc[0]).name.lower().removesuffix(".exe") in MSVC_DRIVERS:
        version, native = _msvc(cc, env)
    else:
        version = _run([*cc, "--version"]).splitlines()[0]
        # Only asked when no target is named: `zig cc -target aarch64-linux-gnu.2.17
        # -dumpmachine` fails (clang rejects the glibc version suffix) although zig builds fine.
        native = "" if target else _run([*cc, "-dumpmachine"])
    host = parse_triple(target) if target else parse_triple(native)
    return Toolchain(cc=cc, version=version, host=host, make=make)


MSVC_DRIVERS = frozenset({"cl", "clang-cl"})
"""Compilers that know neither ``--version`` nor ``-dumpmachine`` (upstream's Windows CI uses ``CC=cl``)."""

MSVC_ARCH = {"x64": "x86_64", "arm64": "aarch64", "x86": "i686"}
"""``VSCMD_ARG_TGT_ARCH`` (set by the Visual Studio developer shell) -> our arch names."""


def _msvc(cc: tuple[str, ...], env: dict[str, str]) -> tuple[str, str]:
    """cl prints its banner (the version) on stderr when run alone; the target comes from the VS shell."""
    try:
        proc = subprocess.run(list(cc), capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ToolchainError(f"CC={shlex.join(cc)}: cannot run the MSVC compiler ({exc.strerror});"
                             " run from a Visual Studio developer shell") from None
    banner = (proc.stderr or proc.stdout).strip().splitlines()
    arch = env.get("VSCMD_ARG_TGT_ARCH", "").lower()
    if arch not in MSVC_ARCH:
        raise ToolchainError(f"VSCMD_ARG_TGT_ARCH={arch or '(unset)'}: cannot tell what CC={cc[0]} targets;"
                             f" run from a Visual Studio developer shell for one of {', '.join(MSVC_ARCH)}")
    return (banner[0] if banner else cc[0]), f"{MSVC_ARCH[arch]}-pc-windows-msvc"
