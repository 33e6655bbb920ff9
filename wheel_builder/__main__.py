"""``python -m wheel_builder``: sdist, every variant's wheel from it, repair, verify, install-check, table.

Exit status: 0 every wheel built and verified; 1 a check failed; 2 a step
failed; 3 a required tool is missing.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jemalloc_build import cache, manifest, variants  # noqa: E402
from jemalloc_build.errors import BuildError  # noqa: E402
from wheel_builder import install_check, pipeline, report, tools, verify  # noqa: E402

REPORT_NAME = "build-report.json"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m wheel_builder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "wheelhouse"), help="output folder (default: wheelhouse/)")
    p.add_argument("--variants", default=",".join(v.name for v in variants.VARIANTS),
                   help="comma-separated variants to build (default: all: %(default)s)")
    p.add_argument("--target", default=pipeline.default_target_name(),
                   help="'host' or a jemalloc_build.cross target such as manylinux-aarch64 (default: %(default)s)")
    p.add_argument("--sdist", default="", help="build the wheels from this sdist instead of making one")
    p.add_argument("--cache-dir", default=os.environ.get("JEMALLOC_SYS_CACHE_DIR", ""),
                   help="builder cache (JEMALLOC_SYS_CACHE_DIR; default: the user cache folder)")
    p.add_argument("--no-install", action="store_true", help="do not pip-install missing tools; name them and stop")
    p.add_argument("--no-install-check", action="store_true", help="skip the fresh-venv install of the wheelhouse")
    p.add_argument("--keep-work", action="store_true", help="keep the work folder with every log")
    return p


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "jemalloc_sys" / "_version.py").read_text(encoding="utf-8"), namespace)
    return namespace["__version__"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the running build's process group is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="wheel_builder: %(message)s")
    show = report.Progress(sys.stderr)
    out = Path(args.out).resolve()
    try:
        chosen = [variants.get(name, source="--variants") for name in args.variants.split(",") if name.strip()]
        cache_dir = str(cache.cache_root(args.cache_dir).resolve())
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    work = pipeline.make_workdir()
    started = time.monotonic()
    try:
        target = pipeline.resolve_target(args.target, tools_dir=Path(cache_dir) / "cross-tools")
        installed = tools.ensure(linux=target.linux, zig=target.zig, install=not args.no_install)
        if installed:
            show(f"installed {', '.join(installed)}")
        out.mkdir(parents=True, exist_ok=True)
        env = pipeline.build_env(target, cache_dir=cache_dir, epoch=pipeline.source_date_epoch())
        if args.sdist:
            sdist = Path(args.sdist).resolve()
            if sdist.parent != out:
                shutil.copyfile(sdist, out / sdist.name)
                sdist = out / sdist.name
        else:
            for old in out.glob("jemalloc_sys-*.tar.gz"):
                old.unlink()
            sdist = pipeline.build_sdist(out=out, env=env, work=work, progress=show)
        show(f"sdist: {sdist.name}")
        env["SOURCE_DATE_EPOCH"] = os.environ.get("SOURCE_DATE_EPOCH") or pipeline.sdist_epoch(sdist)
        mf = manifest.load()
        version = _version()
        # This checkout, the builder cache, our work folder, pip's unpacked sdist, the backend's staged companion tree.
        forbidden = (str(ROOT), cache_dir, str(work), tempfile.gettempdir() + "/pip-",
                     tempfile.gettempdir() + "/jemalloc-sys-")
        results: list[pipeline.Built] = []
        for variant in chosen:
            t0 = time.monotonic()
            raw = pipeline.build_wheel(sdist, variant=variant.name, env=pipeline.variant_env(env, target, variant.features),
                                       work=work, progress=show)
            fixed = pipeline.repair(raw, target=target, env=env, work=work, progress=show, variant=variant.name)
            for old in out.glob(f"{variant.distribution.replace('-', '_')}-*.whl"):
                old.unlink()
            final = out / fixed.name
            shutil.copyfile(fixed, final)
            built = pipeline.Built(variant=variant.name, distribution=variant.distribution, path=final,
                                   seconds=time.monotonic() - t0, raw_tag=raw.name)
            show(f"wheel {variant.name}: verifying {final.name}")
            expect = verify.Expect(
                distribution=variant.distribution, package=variant.package, version=version, variant=variant.name,
                variant_features=variant.features, extras=variants.extras_require(version),
                wheel_tag=target.wheel_tag, jemalloc_version=mf.version, source_sha256=mf.tarball.sha256,
                forbidden_paths=forbidden, linux=target.linux)
            built.checks = verify.verify(final, expect, work / f"verify-{variant.name}")
            results.append(built)
        steps: list[install_check.Step] = []
        if not args.no_install_check:
            if target.runs_here:
                steps = install_check.acceptance(out, {v.name: v.features for v in chosen}, progress=show,
                                                 workdir=work)
            else:
                show(f"install check skipped: {target.name} wheels do not run on this machine")
    except tools.MissingToolError as exc:
        show.done()
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (pipeline.StepError, BuildError) as exc:
        show.done()
        print(f"error: {exc}", file=sys.stderr)
        if getattr(exc, "detail", ""):
            print(exc.detail, file=sys.stderr)
        print(f"logs kept in {work}", file=sys.stderr)
        return 2
    show.done()
    print(report.table(results, sdist=sdist))
    print(report.checks(results, steps))
    ok = all(r.ok for r in results) and all(s[1] for s in steps)
    (out / REPORT_NAME).write_text(json.dumps(report.as_json(results, steps, sdist=sdist, target=target.name,
                                                             seconds=time.monotonic() - started, ok=ok),
                                              indent=2) + "\n", encoding="utf-8")
    if args.keep_work or not ok:
        print(f"logs: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    shown = os.path.relpath(out) if out.is_relative_to(Path.cwd()) else str(out)
    print(f"{'OK' if ok else 'FAILED'}: {len(results)} wheels in {shown} ({time.monotonic() - started:.0f}s)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
