"""``python -m benchmarks``: the performance of what we ship, measured side by side in one run.

Every jemalloc-sys contender is installed from the wheelhouse that
``python -m wheel_builder`` made (``--wheelhouse``). Sections (``--only``):

  runtime    C microbenchmark: glibc, Debian's jemalloc/mimalloc/tcmalloc, our libraries
  python     threaded Python workload (PYTHONMALLOC=malloc), same contenders
  toolchain  shipped (zig) libraries against host-gcc builds of the same flags, and why
  pyframes   Python frames in heap profiles: the hook's cost at default sampling
  tls        an extension's allocation loop under the runner vs the initial-exec reference
  service    a real gunicorn (sync and gthread): requests/s, workers' PSS under load and idle
  footprint  wheel and library sizes, import cost
  build      the cold main command against the floor (configure + make per library)

Markdown goes to stdout (and ``--out``); ``--results-dir`` also writes one file
per section for the docs. Progress goes to stderr. A full run takes about an
hour on 2 idle cores (the build section about half of it); ``--quick`` runs
fewer rounds and operations, skips the build section unless asked for, and
then builds the base variant only.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from . import (
    build_time,
    footprint,
    hostbuild,
    libraries,
    pyframes,
    results,
    runtime,
    service,
    shipped,
    tls,
    toolchain,
)
from .paths import ROOT

SECTIONS = ("runtime", "python", "toolchain", "pyframes", "tls", "service", "footprint", "build")
VARIANTS = ("base", "stats", "profiling", "debug")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheelhouse", default=str(ROOT / "wheelhouse"),
                   help="the wheels to measure, with their build-report.json (default: %(default)s)")
    p.add_argument("--quick", action="store_true",
                   help="fewer rounds and operations; no build section unless --only names it (then base only)")
    p.add_argument("--only", default="", help=f"comma-separated sections (default: all): {','.join(SECTIONS)}")
    p.add_argument("--rounds", type=int, default=0, help="interleaved rounds per runtime benchmark (default 5; quick 3)")
    p.add_argument("--build-rounds", type=int, default=1, help="rounds of the build section (default %(default)s)")
    p.add_argument("--threads", type=int, default=4, help="threads for the N-thread cases (default: %(default)s)")
    p.add_argument("--host-cache-dir", default=str(hostbuild.DEFAULT_CACHE),
                   help="builder cache for the toolchain section's host-gcc and experiment builds (default: %(default)s)")
    p.add_argument("--builder-cache", action="append", default=[], metavar="DIR",
                   help="where the wheel builder's cache is, to read the shipped libraries' configure logs"
                        " (default: $JEMALLOC_SYS_CACHE_DIR, build/test-cache, the user cache folder)")
    p.add_argument("--out", default="", help="also write the markdown to this file")
    p.add_argument("--results-dir", default="", metavar="DIR",
                   help="also write one file per section here, for the docs (docs/performance)")
    return p


def _builder_caches(given: list[str]) -> list[Path]:
    from jemalloc_build import cache

    found = [Path(d) for d in given]
    if not found:
        env = os.environ.get("JEMALLOC_SYS_CACHE_DIR")
        found = [*([Path(env)] if env else []), ROOT / "build" / "test-cache", cache.default_cache_dir()]
    return [d.resolve() for d in found]


def _sections(args: argparse.Namespace, house: shipped.Wheelhouse, work: Path) -> dict[str, Callable[[], str]]:
    """Each section as a function of nothing: run lazily, in SECTIONS order."""
    rounds = args.rounds or (3 if args.quick else 5)

    def inst(variant: str) -> shipped.Installed:
        return shipped.install(house, variant, work)

    def build() -> str:
        variants = ["base"] if args.quick else list(VARIANTS)
        return build_time.render(build_time.run(variants, Path(args.host_cache_dir).resolve(), work,
                                                rounds=args.build_rounds, progress=_say), house)

    return {
        "runtime": lambda: runtime.run_c(inst("base"), inst("profiling"), work, quick=args.quick, rounds=rounds,
                                         threads=args.threads, progress=_say),
        "python": lambda: runtime.run_python(inst("base"), inst("profiling"), quick=args.quick, rounds=rounds,
                                             threads=args.threads, progress=_say),
        "toolchain": lambda: toolchain.run(inst("base"), Path(args.host_cache_dir).resolve(), work,
                                           _builder_caches(args.builder_cache), quick=args.quick, rounds=rounds,
                                           threads=args.threads, progress=_say),
        "pyframes": lambda: pyframes.run(inst("profiling"), work, quick=args.quick, rounds=rounds, progress=_say),
        "tls": lambda: tls.run(inst("base"), work, quick=args.quick, rounds=rounds, progress=_say),
        "service": lambda: service.render(*service.run(inst("base"), work, quick=args.quick, progress=_say)),
        "footprint": lambda: footprint.render(house, inst("base"), 7 if args.quick else 21),
        "build": build,
    }


def main(argv: list[str] | None = None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or [s for s in SECTIONS if not (args.quick and s == "build")]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        p.error(f"--only: unknown section {unknown[0]!r}; accepted: {', '.join(SECTIONS)}")
    if not sys.platform.startswith("linux"):
        p.error("the benchmarks preload allocators with LD_PRELOAD: run them on Linux")
    house = shipped.open_wheelhouse(Path(args.wheelhouse).resolve())
    if {"runtime", "python"} & set(chosen):
        libraries.ensure_debian_packages([s.package for s in libraries.SYSTEM_ALLOCATORS], _say)
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    head = results.header(command, house, quick=args.quick)
    work = Path(tempfile.mkdtemp(prefix="jemalloc-bench-"))
    started = time.monotonic()
    done: dict[str, str] = {}
    try:
        runners = _sections(args, house, work)
        for name in SECTIONS:
            if name in chosen:
                _say(f"{name}:")
                done[name] = runners[name]()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    footer = f"Run time {time.monotonic() - started:.0f} s; load average at the end: {results.load()}."
    text = results.document(head, done, footer)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    if args.results_dir:
        for path in results.write(Path(args.results_dir), head, done, footer):
            _say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
