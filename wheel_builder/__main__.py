"""``python -m wheel_builder``: every variant's sdist, its wheel, repair, verify, install-check, table.

Exit status: 0 every wheel built and verified; 1 a check failed; otherwise the
error's own code (2 a step failed, 3 a bad setting, 4 the source, 5 a tool
missing, 6 configure, 7 make).

Other commands (``python -m wheel_builder COMMAND --help``):
  sdists         every variant's sdist only (the release workflow's first job)
  release-check  check a folder of release artifacts before upload (the publish job)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import manifest, project, variants  # noqa: E402
from wheel_builder import install_check, pipeline, release_check, report, sdists, tools, verify  # noqa: E402
from wheel_builder.errors import BuildError, StepError  # noqa: E402
from wheel_builder.errors import report as report_error  # noqa: E402

REPORT_NAME = "build-report.json"

WHEEL_CONCURRENCY = 2
"""Wheels built, repaired and verified at once once the libraries exist (pip, auditwheel, the checks: one core each)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m wheel_builder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "wheelhouse"), help="output folder (default: wheelhouse/)")
    p.add_argument("--variants", default=",".join(v.name for v in variants.VARIANTS),
                   help="comma-separated variants to build (default: all: %(default)s)")
    p.add_argument("--target", default=pipeline.default_target_name(),
                   help="'host' or a jemalloc_build.cross target such as manylinux-aarch64 (default: %(default)s)")
    p.add_argument("--from-sdists", default="", metavar="DIR",
                   help="build each wheel from the sdist of its distribution found in DIR instead of making one")
    tools.add_arguments(p)
    p.add_argument("--config-setting", "-C", action="append", default=[], metavar="KEY=VALUE",
                   help="a build setting passed to every wheel build (experiments only: a release passes none)")
    p.add_argument("--no-install-check", action="store_true", help="skip the fresh-venv install of the wheelhouse")
    p.add_argument("--keep-work", action="store_true", help="keep the work folder with every log")
    return p


@dataclass(frozen=True, kw_only=True)
class Run:
    """One invocation's resolved inputs."""

    chosen: list[variants.Variant]
    out: Path
    cache_dir: str
    work: Path
    target: pipeline.ReleaseTarget
    env: dict[str, str]
    python: Path
    config: tuple[str, ...]
    from_sdists: Path | None


def _prepare(args: argparse.Namespace, show: report.Progress, work: Path) -> Run:
    """Variants, cache, tools (before anything needs them), target, environment."""
    chosen = [variants.get(name, source="--variants") for name in args.variants.split(",") if name.strip()]
    cache_dir, tools_dir = tools.locations(args)
    toolenv = tools.ensure(tools_dir, install=not args.no_install, say=show)
    target = pipeline.resolve_target(args.target, tools_dir=Path(cache_dir) / "cross-tools",
                                     python=str(toolenv.python))
    env = pipeline.build_env(target, cache_dir=cache_dir, epoch=pipeline.source_date_epoch(), tools_bin=toolenv.bin)
    if args.config_setting:
        show(f"config settings {' '.join(args.config_setting)}: not a release configuration")
    return Run(chosen=chosen, out=Path(args.out).resolve(), cache_dir=cache_dir, work=work, target=target, env=env,
               python=toolenv.python, config=tuple(args.config_setting),
               from_sdists=Path(args.from_sdists).resolve() if args.from_sdists else None)


def _sdist(run: Run, variant: variants.Variant, show: report.Progress) -> Path:
    """The variant's sdist in the wheelhouse: made from this tree, or taken from ``--from-sdists``."""
    stem = variant.distribution.replace("-", "_")
    if run.from_sdists is None:
        sdists.clear_old(run.out, variant.distribution, (".whl", ".tar.gz"))
        return pipeline.build_sdist(variant=variant.name, out=run.out, env=run.env, work=run.work, progress=show,
                                    python=run.python)
    given = run.from_sdists / f"{stem}-{project.version()}.tar.gz"
    if not given.is_file():
        raise StepError(f"--from-sdists: no {given.name} in {run.from_sdists}")
    sdist = run.out / given.name
    if given != sdist:
        shutil.copyfile(given, sdist)
    return sdist


def _wheel(run: Run, variant: variants.Variant, sdist: Path, show: report.Progress) -> pipeline.Built:
    """The wheel from the sdist (its libraries are in the cache by now), repaired, copied, verified."""
    started, work = time.monotonic(), run.work
    env = {**run.env, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH") or pipeline.sdist_epoch(sdist)}
    raw = pipeline.build_wheel(sdist, variant=variant.name, env=env, work=work, progress=show, python=run.python,
                               config_settings=run.config)
    fixed = pipeline.repair(raw, target=run.target, env=env, work=work, progress=show, variant=variant.name,
                            python=run.python)
    final = run.out / fixed.name
    shutil.copyfile(fixed, final)
    built = pipeline.Built(variant=variant.name, distribution=variant.distribution, path=final, sdist=sdist,
                           seconds=time.monotonic() - started, raw_tag=raw.name)
    show(f"wheel {variant.name}: verifying {final.name}")
    version, mf = project.version(), manifest.load()
    # This checkout, the builder cache, our work folder, pip's unpacked sdist, the backend's staged sdist tree.
    forbidden = (str(ROOT), run.cache_dir, str(work), tempfile.gettempdir() + "/pip-",
                 tempfile.gettempdir() + "/jemalloc-sys-")
    expect = verify.Expect(
        distribution=variant.distribution, package=variant.package, version=version, variant=variant.name,
        variant_features=variant.features, extras=variants.extras_require(version), wheel_tag=run.target.wheel_tag,
        jemalloc_version=mf.version, source_sha256=mf.tarball.sha256, forbidden_paths=forbidden,
        linux=run.target.linux, python=str(run.python), platform=run.target.probe)
    built.checks = verify.verify(final, expect, work / f"verify-{variant.name}")
    return built


def _install_check(args: argparse.Namespace, run: Run, show: report.Progress) -> list[install_check.Step]:
    if args.no_install_check:
        return []
    if "base" not in {v.name for v in run.chosen}:
        show("install check skipped: it installs the base wheel first (add base to --variants)")
        return []
    if not run.target.runs_here:
        show(f"install check skipped: {run.target.name} wheels do not install on this machine")
        return []
    return install_check.acceptance(run.out, {v.name: v.features for v in run.chosen}, progress=show,
                                    workdir=run.work)


def _build(args: argparse.Namespace, show: report.Progress, work: Path) -> tuple[Run, list[pipeline.Built],
                                                                                   list[install_check.Step]]:
    """Every sdist; then every library at once, from those sdists, into the cache; then each wheel."""
    run = _prepare(args, show, work)
    run.out.mkdir(parents=True, exist_ok=True)
    warming = pipeline.Warm(env=run.env, work=work, python=run.python)
    try:
        made = {variant.name: _sdist(run, variant, show) for variant in run.chosen}
    except BaseException:
        warming.stop()
        raise
    warming.wait()
    seconds = pipeline.prebuild(made, env=run.env, work=work, python=run.python, flavours=run.target.flavours,
                                config_settings=run.config, progress=show)
    show(f"libraries: {len(made) * len(run.target.flavours)} ready after {seconds:.0f}s")
    # Each wheel is independent (its own sdist, folders and checks), and each step is mostly one core.
    with ThreadPoolExecutor(max_workers=WHEEL_CONCURRENCY) as pool:
        futures = [pool.submit(_wheel, run, variant, made[variant.name], show) for variant in run.chosen]
        results = [future.result() for future in futures]
    return run, results, _install_check(args, run, show)


COMMANDS = {"sdists": sdists.main, "release-check": release_check.main}
"""``python -m wheel_builder COMMAND ...``; without a command, the main command (every wheel)."""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the running build's process group is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="wheel_builder: %(message)s")
    show = report.Progress(sys.stderr)
    work = pipeline.make_workdir()
    started = time.monotonic()
    try:
        run, results, steps = _build(args, show, work)
    except BuildError as exc:
        show.done()
        code = report_error(exc, prog="wheel_builder")
        if any(work.iterdir()):
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            work.rmdir()  # a refusal before any step: nothing to keep, nothing left behind
        return code
    show.done()
    print(report.table(results))
    print(report.checks(results, steps))
    ok = all(r.ok for r in results) and all(s[1] for s in steps)
    (run.out / REPORT_NAME).write_text(json.dumps(report.as_json(
        results, steps, target=run.target.name, seconds=time.monotonic() - started, ok=ok), indent=2) + "\n",
        encoding="utf-8")
    if args.keep_work or not ok:
        print(f"logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    shown = os.path.relpath(run.out) if run.out.is_relative_to(Path.cwd()) else str(run.out)
    print(f"{'OK' if ok else 'FAILED'}: {len(results)} wheels and sdists in {shown}"
          f" ({time.monotonic() - started:.0f}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
