"""Prepare what every build of a run shares, before the builds start: the source tree and zig's runtime.

The first time zig links for a target it compiles its runtime for it into its
global cache: compiler-rt (about 23 s on one core, zig 0.17 here), the glibc
stubs and libunwind (about a second each). Every build's configure links in its
first probe, so in a cold run the first builds all wait on that one core, and
two of them may each extract the source and generate configure. The wheel
builder runs :func:`warm` while it makes the sdists (Python, one core): the
runtime and the source are ready when the builds begin, and the other core was
busy meanwhile. The runtime is built with the flags the builds link with
(:func:`jemalloc_build.build.toolchain_ldflags`): zig keys it by them, so a
runtime built otherwise would be built again.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from . import cache, cross, manifest, platforms, source, toolchain
from .build import toolchain_ldflags
from .logs import Reporter
from .settings import BuildSettings

PROGRAM = "int main(void) { return 0; }\n"


def runtime_links(tc: toolchain.Toolchain, folder: Path) -> list[list[str]]:
    """The links that make zig build its runtime: a program as configure's probes link it, and a shared library."""
    ldflags = toolchain_ldflags(tc)
    libs = [value for var in platforms.backtrace_for(tc.family).configure_vars
            for name, _, value in [var.partition("=")] if name == "LIBS"]
    program = str(folder / "probe.c")
    return [[*tc.cc, *ldflags, program, "-o", str(folder / "probe"), *libs],
            [*tc.cc, *ldflags, "-shared", "-fPIC", program, "-o", str(folder / "probe.so"), *libs]]


def _link_runtime(tc: toolchain.Toolchain, cache_dir: Path, environ: Mapping[str, str],
                  failures: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="jemalloc-sys-warm-") as tmp:
        folder = Path(tmp)
        (folder / "probe.c").write_text(PROGRAM, encoding="utf-8")
        env = {**environ, **cross.build_env(tc.cc, folder, shared=cache_dir / "zig", environ=environ)}
        for cmd in runtime_links(tc, folder):
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
                failures.append(f"{shlex.join(cmd)}: {last}")
                return


def warm(settings: BuildSettings, *, environ: Mapping[str, str], report: Reporter) -> None:
    """Extract the pinned source (and generate configure) and, with zig, build its runtime, at the same time.

    A failing link is reported, not raised: the builds then fail on it with configure's full log.
    """
    cache_dir = cache.cache_root(settings.cache_dir)
    tc = toolchain.detect(target=settings.target, environ=environ)
    failures: list[str] = []
    runtime = None
    if tc.family == "zig":
        report(f"zig runtime for {tc.host.triple}: building into {cache_dir / 'zig'} (once per zig and target)")
        runtime = threading.Thread(target=_link_runtime, args=(tc, cache_dir, environ, failures), daemon=True)
        runtime.start()
    try:
        source.prepare(explicit=settings.source, manifest=manifest.load(), cache_dir=cache_dir, environ=environ)
    finally:
        if runtime is not None:
            runtime.join()
    for failure in failures:
        report(f"zig runtime: a link failed (the builds will show configure's log): {failure}")
