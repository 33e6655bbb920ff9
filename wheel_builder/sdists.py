"""``python -m wheel_builder sdists``: every variant's sdist, the release workflow's first job.

The sdists are made by :func:`wheel_builder.pipeline.build_sdist`, the step the main
command takes before each wheel, so what CI publishes and what a local run builds
wheels from come out of one code path. Each companion has its own sdist
(``jemalloc_sys_profiling-<v>.tar.gz``), so that ``pip install 'jemalloc-sys[profiling]'``
can build it from source on a platform without a wheel.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from jemalloc_build import variants
from jemalloc_build.source import sha256_of

from . import pipeline, report, tools
from .errors import BuildError
from .errors import report as report_error

ROOT = Path(__file__).resolve().parent.parent


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m wheel_builder sdists", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "dist"), help="output folder (default: dist/)")
    p.add_argument("--variants", default=",".join(v.name for v in variants.VARIANTS),
                   help="comma-separated variants (default: all: %(default)s)")
    tools.add_arguments(p)
    return p


def clear_old(out: Path, distribution: str, suffixes: tuple[str, ...]) -> None:
    """Remove earlier files of ``distribution`` from ``out``: a folder holds one version of each."""
    stem = distribution.replace("-", "_")
    for suffix in suffixes:
        for old in out.glob(f"{stem}-*{suffix}"):
            old.unlink()


def make(chosen: list[variants.Variant], *, out: Path, cache_dir: str, tools_dir: Path, install: bool,
         progress: report.Progress) -> list[Path]:
    """The sdists of ``chosen`` in ``out`` (earlier ones of the same distributions replaced)."""
    toolenv = tools.ensure(tools_dir, install=install, say=progress)
    target = pipeline.resolve_target("host", tools_dir=Path(cache_dir) / "cross-tools", python=str(toolenv.python))
    env = pipeline.build_env(target, cache_dir=cache_dir, epoch=pipeline.source_date_epoch(), tools_bin=toolenv.bin)
    out.mkdir(parents=True, exist_ok=True)
    work = pipeline.make_workdir()
    made = []
    for variant in chosen:
        clear_old(out, variant.distribution, (".tar.gz",))
        made.append(pipeline.build_sdist(variant=variant.name, out=out, env=env, work=work, progress=progress,
                                         python=toolenv.python))
    shutil.rmtree(work, ignore_errors=True)
    return made


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    show = report.Progress(sys.stderr)
    try:
        chosen = [variants.get(name, source="--variants") for name in args.variants.split(",") if name.strip()]
        cache_dir, tools_dir = tools.locations(args)
        made = make(chosen, out=Path(args.out).resolve(), cache_dir=cache_dir, tools_dir=tools_dir,
                    install=not args.no_install, progress=show)
    except BuildError as exc:
        show.done()
        return report_error(exc, prog="wheel_builder")
    show.done()
    for path in made:
        print(f"{sha256_of(path)}  {path.name}")
    print(f"OK: {len(made)} sdists in {Path(args.out)}")
    return 0
