"""Finding an autoconf that can generate jemalloc's ``configure``, without root.

The pinned tarball is a git export without ``configure``; the sdist carries one we
generated, so only builds from the tarball (the sdist step itself, a checkout)
need autoconf. Two kinds are accepted, in this order:

1. ``cmeel-autoconf`` and ``cmeel-m4`` from PyPI, installed in the environment of
   the interpreter running the build (``wheel_builder``'s tool environment has
   them). Their scripts carry the wheel's build-time prefix
   (``/tmp/cmeel-.../cmeel.prefix``), so they run only with the variables below
   pointing at the installed ``cmeel.prefix`` and a copy of ``autom4te.cfg``
   with that prefix replaced (checked to generate jemalloc 5.3.1's configure).
2. ``autoconf`` on ``PATH`` (a distribution's package).
"""

from __future__ import annotations

import os
import re
import shutil
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ToolchainError

CMEEL_PREFIX = "cmeel.prefix"
INSTALL_HINT = ("pip install cmeel-autoconf cmeel-m4 (no root needed; wheel_builder's tool environment has them),"
                " or apt-get install autoconf / brew install autoconf")


@dataclass(frozen=True, kw_only=True)
class Autoconf:
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    """Variables the command needs on top of the caller's environment."""
    origin: str = ""


def _cmeel(purelib: Path, scratch: Path) -> Autoconf | None:
    prefix = purelib / CMEEL_PREFIX
    data = prefix / "share" / "autoconf"
    cfg = data / "autom4te.cfg"
    if not ((prefix / "bin" / "autoconf").is_file() and (prefix / "bin" / "m4").is_file() and cfg.is_file()):
        return None
    text = cfg.read_text(encoding="utf-8")
    built = re.search(r"--prepend-include '([^']*)/share/autoconf'", text)
    fixed = scratch / "autom4te.cfg"
    scratch.mkdir(parents=True, exist_ok=True)
    fixed.write_text(text.replace(built.group(1), str(prefix)) if built else text, encoding="utf-8")
    env = {
        "autom4te_perllibdir": str(data),
        "AC_MACRODIR": str(data),
        "AUTOM4TE_CFG": str(fixed),
        "AUTOM4TE": str(prefix / "bin" / "autom4te"),
        "M4": str(prefix / "bin" / "m4"),
        "trailer_m4": str(data / "autoconf" / "trailer.m4"),
    }
    return Autoconf(command=[str(prefix / "bin" / "autoconf")], env=env, origin=f"cmeel-autoconf in {purelib}")


def locate(environ: Mapping[str, str], scratch: Path) -> Autoconf:
    """The autoconf to run; ``scratch`` is a writable folder for the relocated configuration file."""
    found = _cmeel(Path(sysconfig.get_paths()["purelib"]), scratch)
    if found is not None:
        return found
    program = shutil.which("autoconf", path=environ.get("PATH", os.defpath))
    if program is not None:
        return Autoconf(command=[program], origin=program)
    raise ToolchainError(f"autoconf: not found, and the jemalloc tarball has no configure script; {INSTALL_HINT};"
                         " or build from the sdist, which carries a generated configure")
