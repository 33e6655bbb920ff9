"""``python -m benchmarks [--quick] [--only SECTION,...] [--out FILE]``: the README's performance tables.

Prints progress to stderr and the markdown to stdout (and to ``--out``).
A full run takes about 10 minutes on 2 cores; ``--quick`` about 3 (fewer
rounds and operations, no build-time section).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import build_time, footprint, libraries, report, runtime, service, sites, tls

SECTIONS = ("runtime", "python", "service", "tls", "footprint", "build")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "?")
    return (f"{cpu}, {os.cpu_count()} CPUs, {int(mem) // 1024} MB RAM, {platform.platform()}, Python"
            f" {platform.python_version()}; load average at the start (1/5/15 min): {load}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer rounds and operations; skips the build section")
    p.add_argument("--only", default="", help=f"comma-separated sections (default: all): {','.join(SECTIONS)}")
    p.add_argument("--rounds", type=int, default=0, help="interleaved rounds per runtime benchmark (default 5; quick 3)")
    p.add_argument("--threads", type=int, default=4, help="threads for the N-thread cases (default: %(default)s)")
    p.add_argument("--cache-dir", default=str(libraries.DEFAULT_CACHE),
                   help="builder cache for our libraries (default: the test suite's, %(default)s)")
    p.add_argument("--out", default="", help="also write the markdown to this file")
    args = p.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or [s for s in SECTIONS if not (args.quick and s == "build")]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        p.error(f"--only: unknown section {unknown[0]!r}; accepted: {', '.join(SECTIONS)}")
    if not sys.platform.startswith("linux"):
        p.error("the benchmarks preload allocators with LD_PRELOAD: run them on Linux")
    rounds = args.rounds or (3 if args.quick else 5)
    cache_dir = Path(args.cache_dir).resolve()
    libraries.ensure_debian_packages([s.package for s in libraries.SYSTEM_ALLOCATORS], _say)
    work = Path(tempfile.mkdtemp(prefix="jemalloc-bench-"))
    started = time.monotonic()
    command = "python -m benchmarks" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    parts = [f"Machine: {_machine()}.", ""]
    try:
        if "runtime" in chosen:
            _say("runtime: C microbenchmark")
            parts.append(report.table(runtime.run_c(cache_dir, work, quick=args.quick, rounds=rounds,
                                                    threads=args.threads, progress=_say),
                                      note=f"Median of {rounds} interleaved rounds; ratio to glibc; the in-process"
                                           " row reaches `_rjem_malloc` through dlopen/dlsym like Python does."))
        if "python" in chosen:
            _say("runtime: Python threaded workload")
            parts.append(report.table(runtime.run_python(cache_dir, quick=args.quick, rounds=rounds,
                                                         threads=args.threads, progress=_say),
                                      note="Python's own allocations go through `malloc`, so the in-process"
                                           " (prefixed) library does not apply here."))
        if "service" in chosen:
            _say("service: RSS over time")
            traces, busy, idle = service.run(cache_dir, quick=args.quick, threads=16, progress=_say)
            parts.append(report.service(traces, busy, idle))
        if "tls" in chosen:
            _say("tls: TLS models")
            parts.append(report.table(tls.run(cache_dir, work, quick=args.quick, rounds=rounds, progress=_say),
                                      note="Ratio to the initial-exec build dlopen'ed in a process started with"
                                           f" `GLIBC_TUNABLES={tls.TUNABLE}`."))
        wheel_kb = None
        if "build" in chosen:
            _say("build: sdist -> repaired wheel vs the floor")
            times = build_time.run(work, rounds=1 if args.quick else 2, progress=_say)
            wheel_kb = times.wheel_path.stat().st_size / 1024 if times.wheel_path else None
            parts.append(report.build(times))
        if "footprint" in chosen:
            _say("footprint: import cost and sizes")
            imp, load = footprint.import_cost(sites.site(cache_dir), 7 if args.quick else 21)
            parts.append(report.footprint(imp, load, footprint.sizes(cache_dir), wheel_kb))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    parts.append(f"Produced by `{command}` in {time.monotonic() - started:.0f}s; load average at the end:"
                 f" {' / '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    text = "\n".join(parts) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
