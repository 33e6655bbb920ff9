"""``python -m wheel_builder release-check DIR --tag vX``: is this folder a whole, publishable release?

The publish job runs it on everything the workflow built, before anything is
uploaded (and a local wheelhouse can be checked with ``--platforms`` naming the
platforms it holds). It fails unless:

- the tag names this tree's version (``jemalloc_sys/_version.py``) and every file
  carries that version;
- the folder holds exactly the expected files: every variant's sdist, and a
  ``py3-none`` wheel for every variant on every platform that publishes it
  (:mod:`wheel_builder.published`), nothing missing, doubled or unknown;
- ``twine check --strict`` passes on every file;
- every wheel carries jemalloc's licence and ours, a PEP 770 SBOM naming the pinned
  jemalloc source, and the name/version/pins of its variant; every sdist its own
  name, version and licence.

With ``--stage OUT`` the files are then copied into one folder per upload batch
(``OUT/companions``, ``OUT/base``: :data:`wheel_builder.published.UPLOAD_ORDER`),
which the publish job uploads in that order.

Exit status: 0 every check passed; 1 a check failed; 3 a bad argument; 5 twine missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from jemalloc_build import manifest, project, variants
from jemalloc_build.errors import SettingError

from . import published, verify
from .errors import BuildError, MissingToolError
from .errors import report as report_error

Check = verify.Check

BY_STEM = {published.stem(v): v for v in variants.VARIANTS}


@dataclass(frozen=True, kw_only=True)
class Artifact:
    path: Path
    variant: variants.Variant
    platform: published.Platform | None
    """None for an sdist."""


def check_tag(tag: str, version: str) -> Check:
    """The pushed tag must be ``v<version>`` of the tree being released."""
    wanted = f"v{version}"
    given = tag.removeprefix("refs/tags/")
    detail = (f"{given} = v + jemalloc_sys/_version.py's {version}" if given == wanted else
              f"{given!r} does not name this tree's version {version} (jemalloc_sys/_version.py): tag the commit"
              f" whose version it names, or push {wanted}")
    return "tag", given == wanted, detail


def _parse(path: Path) -> tuple[str, str, str]:
    """(distribution stem, version, rest) of a wheel or sdist file name."""
    if path.name.endswith(".tar.gz"):
        stem, _, version = path.name.removesuffix(".tar.gz").rpartition("-")
        return stem, version, ""
    parts = path.name.removesuffix(".whl").split("-")
    if len(parts) != 5:
        return parts[0], parts[1] if len(parts) > 1 else "", ""
    return parts[0], parts[1], "-".join(parts[2:])


def sort_files(folder: Path, version: str, chosen: tuple[published.Platform, ...]) -> tuple[list[Check],
                                                                                           list[Artifact]]:
    """Match the folder's files against the expected list; every mismatch is a failed check."""
    problems: list[Check] = []
    found: list[Artifact] = []
    seen: dict[tuple[str, str], list[str]] = {}
    for path in sorted(folder.iterdir()):
        if not path.name.endswith((".whl", ".tar.gz")):
            continue  # the local wheelhouse's build-report.json, for example
        stem, file_version, tags = _parse(path)
        variant = BY_STEM.get(stem)
        if variant is None:
            problems.append(("files", False, f"{path.name}: not a distribution of this project"
                                             f" (expected {', '.join(BY_STEM)})"))
            continue
        if file_version != version:
            problems.append(("files", False, f"{path.name}: version {file_version!r}, the release is {version}"))
            continue
        platform = None
        if path.name.endswith(".whl"):
            python_abi, _, platform_tags = tags.rpartition("-")
            platform = published.platform_of(platform_tags)
            if python_abi != "py3-none":
                problems.append(("files", False, f"{path.name}: tagged {python_abi}, expected py3-none"
                                                 " (the wheels hold no extension module)"))
                continue
            if platform is None or platform not in chosen:
                problems.append(("files", False, f"{path.name}: platform {platform_tags} is none of the platforms"
                                                 f" checked ({', '.join(p.name for p in chosen)})"))
                continue
            if not published.publishes(variant, platform):
                problems.append(("files", False, f"{path.name}: the {variant.name} variant is not published for"
                                                 f" {platform.name} (its {platform.family} toolchain cannot build it)"))
                continue
        seen.setdefault((variant.name, platform.name if platform else "sdist"), []).append(path.name)
        found.append(Artifact(path=path, variant=variant, platform=platform))
    for (variant_name, where), names in seen.items():
        if len(names) > 1:
            problems.append(("files", False, f"{len(names)} files for {variant_name} {where}: {', '.join(names)}"))
    wanted = [(v.name, p.name, published.wheel_name(v, version, p)) for v, p in published.expected_wheels(chosen)]
    wanted += [(v.name, "sdist", published.sdist_name(v, version)) for v in variants.VARIANTS]
    missing = [name for variant_name, where, name in wanted if (variant_name, where) not in seen]
    for name in missing:
        problems.append(("files", False, f"missing {name}"))
    if not problems:
        problems.append(("files", True, f"{len(found)} files: {len(wanted) - len(variants.VARIANTS)} wheels for"
                                        f" {', '.join(p.name for p in chosen)}, {len(variants.VARIANTS)} sdists"))
    return problems, found


def _twine(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twine", "--no-color", "check", "--strict", *map(str, paths)],
                          capture_output=True, text=True, timeout=600)


def check_twine(paths: list[Path]) -> list[Check]:
    """``twine check --strict`` on every file: once for all, then file by file to name the failures."""
    if importlib.util.find_spec("twine") is None:
        raise MissingToolError(f"twine is not installed for {sys.executable}; run {sys.executable} -m pip install"
                               " twine (the publish job installs it)")
    if not paths:
        return []
    if _twine(paths).returncode == 0:
        return [("twine check", True, f"{len(paths)} files PASSED (--strict)")]
    results = []
    for path in paths:
        proc = _twine([path])
        text = " ".join((proc.stdout + proc.stderr).replace(str(path.parent) + "/", "").split())
        results.append(("twine check", proc.returncode == 0, f"{path.name}: {text[-300:]}"))
    return [r for r in results if not r[1]] or [("twine check", False, "twine failed on the set, on no file alone")]


def _expect(variant: variants.Variant, version: str) -> verify.Expect:
    mf = manifest.load()
    return verify.Expect(distribution=variant.distribution, package=variant.package, version=version,
                         variant=variant.name, variant_features=variant.features,
                         extras=variants.extras_require(version), wheel_tag="", jemalloc_version=mf.version,
                         source_sha256=mf.tarball.sha256, forbidden_paths=(), linux=False)


WHEEL_CHECKS = (verify.check_license, verify.check_sbom, verify.check_metadata)
"""The wheel_builder checks a published wheel must pass again here (they need only the wheel)."""


def check_wheel(artifact: Artifact, version: str) -> list[Check]:
    expect = _expect(artifact.variant, version)
    results = []
    for check in WHEEL_CHECKS:
        try:
            name, ok, detail = check(artifact.path, expect)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a malformed wheel fails its check
            name, ok, detail = check.__name__.removeprefix("check_"), False, f"{type(exc).__name__}: {exc}"
        results.append((name, ok, detail))
    return results


def check_sdist(artifact: Artifact, version: str) -> list[Check]:
    """PKG-INFO's name and version, and the licence files it declares, present in the archive."""
    try:
        with tarfile.open(artifact.path) as archive:
            top = f"{published.stem(artifact.variant)}-{version}"
            names = set(archive.getnames())
            info = archive.extractfile(f"{top}/PKG-INFO")
            meta = HeaderParser().parsestr(info.read().decode("utf-8") if info else "")
    except (OSError, KeyError, tarfile.TarError, EOFError) as exc:
        return [("sdist", False, f"{type(exc).__name__}: {exc}")]
    problems = []
    if (meta["Name"], meta["Version"]) != (artifact.variant.distribution, version):
        problems.append(f"PKG-INFO names {meta['Name']} {meta['Version']}")
    licences = meta.get_all("License-File") or []
    if not licences:
        problems.append("PKG-INFO declares no License-File")
    problems += [f"{name} declared but absent" for name in licences if f"{top}/{name}" not in names]
    detail = "; ".join(problems) or f"{meta['Name']} {meta['Version']}, licence {', '.join(licences)}"
    return [("sdist", not problems, detail)]


def stage(artifacts: list[Artifact], out: Path) -> list[Path]:
    """Copy the artifacts into ``out/<batch>/`` per :data:`published.UPLOAD_ORDER`; returns the batch folders."""
    if out.exists() and any(out.iterdir()):
        raise SettingError(f"--stage {out}: the folder is not empty; give a new or empty folder")
    batches = []
    for batch, names in published.UPLOAD_ORDER:
        folder = out / batch
        folder.mkdir(parents=True)
        for artifact in artifacts:
            if artifact.variant.name in names:
                shutil.copy2(artifact.path, folder / artifact.path.name)
        batches.append(folder)
    return batches


def run(folder: Path, *, tag: str, chosen: tuple[published.Platform, ...],
        version: str | None = None) -> tuple[list[tuple[str, Check]], list[Artifact]]:
    """Every check, as (subject, check) pairs; and the artifacts found."""
    version = version or project.version()
    results: list[tuple[str, Check]] = [("release", check_tag(tag, version))]
    sorting, artifacts = sort_files(folder, version, chosen)
    results += [("release", c) for c in sorting]
    results += [("release", c) for c in check_twine([a.path for a in artifacts])]
    for artifact in artifacts:
        checks = check_wheel(artifact, version) if artifact.platform else check_sdist(artifact, version)
        results += [(artifact.path.name, c) for c in checks]
    return results, artifacts


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m wheel_builder release-check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="the folder holding the release's wheels and sdists")
    p.add_argument("--tag", required=True, help="the release tag, v<version> (the publish job passes github.ref_name)")
    p.add_argument("--platforms", default="all",
                   help="comma-separated platforms the folder should hold (default: all: "
                        f"{', '.join(published.BY_NAME)})")
    p.add_argument("--stage", default="", metavar="OUT",
                   help="when every check passes, copy the files into OUT/companions and OUT/base, in upload order")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    folder = Path(args.folder)
    try:
        if not folder.is_dir():
            raise SettingError(f"release-check {args.folder}: no such folder; give the folder holding the"
                               " downloaded wheels and sdists")
        results, artifacts = run(folder, tag=args.tag, chosen=published.platforms(args.platforms))
        ok = all(check[1] for _, check in results)
        width = max(len(subject) for subject, _ in results)
        for subject, (name, passed, detail) in results:
            print(f"{'ok  ' if passed else 'FAIL'} {subject:<{width}} {name:<11} {detail}")
        if not ok:
            print(f"FAILED: {sum(not c[1] for _, c in results)} checks failed in {folder}; nothing staged")
            return 1
        if args.stage:
            batches = stage(artifacts, Path(args.stage))
            order = ", then ".join(f"{b} ({len(list(b.iterdir()))} files)" for b in batches)
            print(f"staged for upload in this order: {order}")
    except BuildError as exc:
        return report_error(exc, prog="wheel_builder")
    print(f"OK: {len(artifacts)} files in {folder} make release v{project.version()}")
    return 0
