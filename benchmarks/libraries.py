"""The allocators compared, as data, and our own libraries built through the one builder.

Our libraries come from ``jemalloc_build.build.build_jemalloc`` with the test
suite's cache (``build/test-cache``) by default, so a benchmark run after the
tests rebuilds nothing it does not have to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import build as build_mod  # noqa: E402
from jemalloc_build import settings as settings_mod  # noqa: E402

TARBALL_NAME = "jemalloc_5.3.1.orig.tar.gz"
DEFAULT_CACHE = ROOT / "build" / "test-cache"
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


def tarball() -> Path:
    explicit = os.environ.get("JEMALLOC_SYS_SOURCE")
    for candidate in ([Path(explicit)] if explicit else []) + [ROOT.parent / "shared" / "jemalloc" / TARBALL_NAME,
                                                               ROOT / "vendor" / "jemalloc" / TARBALL_NAME]:
        if candidate.is_file():
            return candidate
    raise SystemExit(f"benchmarks: no {TARBALL_NAME}; set JEMALLOC_SYS_SOURCE to the pinned jemalloc tarball")


def builder_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE"))}
    env["JEMALLOC_SYS_SOURCE"] = str(tarball())
    env["JEMALLOC_SYS_CACHE_DIR"] = str(cache_dir)
    env.update(extra)
    return env


def ours(cache_dir: Path, *, flavour: str = "inprocess", features: str = "", extra_cflags: str = "",
         report: build_mod.Reporter = lambda line: None) -> build_mod.BuildResult:
    """One of our libraries for ``features`` (``JEMALLOC_SYS_FEATURES`` syntax); built once, then cached."""
    env = builder_env(cache_dir, **({"JEMALLOC_SYS_FEATURES": features} if features else {}))
    saved = os.environ.get("EXTRA_CFLAGS")
    # EXTRA_CFLAGS is read from the process environment (and is part of the cache key).
    if extra_cflags:
        os.environ["EXTRA_CFLAGS"] = extra_cflags
    try:
        return build_mod.build_jemalloc(settings_mod.resolve(environ=env), flavour=flavour, report=report)
    finally:
        if saved is None:
            os.environ.pop("EXTRA_CFLAGS", None)
        else:
            os.environ["EXTRA_CFLAGS"] = saved


def ensure_debian_packages(packages: list[str], say: build_mod.Reporter) -> None:
    """Install missing comparison allocators with apt-get (root only); otherwise say what is missing."""
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        say(f"benchmarks: installing comparison allocators: {' '.join(missing)}")
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    else:
        say(f"benchmarks: not installed (their rows are skipped): {' '.join(missing)}; apt-get install {' '.join(missing)}")


def compile_c(name: str, out_dir: Path, *extra: str) -> Path:
    """Compile ``benchmarks/c/<name>.c`` with the system compiler."""
    out = out_dir / name
    src = Path(__file__).parent / "c" / f"{name}.c"
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", "-o", str(out), str(src), "-ldl", *extra],
                   check=True)
    return out
