"""The distribution allocators compared for context, as data, and how to get them.

Our own libraries come from the wheelhouse (:mod:`shipped`) or, for the
toolchain comparison, from the builder with the host ``cc`` (:mod:`hostbuild`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEBIAN_LIBS = Path("/usr/lib/x86_64-linux-gnu")


@dataclass(frozen=True, kw_only=True)
class System:
    """A distribution allocator preloaded by path; ``package`` says how to get it."""

    name: str
    path: Path
    package: str


SYSTEM_ALLOCATORS = (
    System(name="debian jemalloc 5.3.0", path=DEBIAN_LIBS / "libjemalloc.so.2", package="libjemalloc2"),
    System(name="mimalloc 2.0", path=DEBIAN_LIBS / "libmimalloc.so.2", package="libmimalloc2.0"),
    System(name="tcmalloc (minimal)", path=DEBIAN_LIBS / "libtcmalloc_minimal.so.4", package="libtcmalloc-minimal4"),
)


def ensure_debian_packages(packages: list[str], say: Callable[[str], None]) -> None:
    """Install missing comparison allocators with apt-get (root only); otherwise say what is missing."""
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say(f"benchmarks: installing comparison allocators: {' '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], capture_output=True, env=env)
    else:
        say(f"benchmarks: not installed (their rows are skipped): {' '.join(missing)}; apt-get install {' '.join(missing)}")
