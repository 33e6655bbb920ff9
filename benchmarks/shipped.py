"""The artifacts we ship: the wheelhouse's wheels, installed the way pip installs them for a user.

Every jemalloc-sys contender in the benchmarks comes from here, so the numbers
describe the exact files a user gets (issue 10: the toolchain that builds what
we ship is not the one the tests used to exercise). Each variant is installed
into a site folder of its own (``pip install --no-deps --no-index --target``:
the base wheel plus the variant's companion), so the preload library that
``jemalloc_sys.preload_env()`` names and the in-process library that
``jemalloc_sys.load()`` opens are the shipped files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORT_NAME = "build-report.json"
"""Written by ``python -m wheel_builder`` next to the wheels (``wheel_builder.__main__.REPORT_NAME``)."""


class WheelhouseError(SystemExit):
    """A wheelhouse that cannot be measured; its message is the one line the user sees."""


@dataclass(frozen=True, kw_only=True)
class Wheel:
    variant: str
    distribution: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Wheelhouse:
    folder: Path
    target: str
    wheels: dict[str, Wheel]
    """variant name -> its wheel (the base's is the jemalloc-sys wheel itself)."""

    def for_variant(self, variant: str) -> list[Wheel]:
        """The wheels ``pip install 'jemalloc-sys[<variant>]'`` installs: the base, then the companion."""
        if variant not in self.wheels:
            raise WheelhouseError(f"benchmarks: {self.folder} has no {variant} wheel; run `python -m wheel_builder`"
                                  " (all variants) first")
        return [self.wheels["base"]] + ([self.wheels[variant]] if variant != "base" else [])


def wheels_by_variant(report: Mapping[str, Any], folder: Path) -> dict[str, Wheel]:
    """The ``wheels`` entries of a build report, by variant; the base must be among them."""
    found = {}
    for entry in report.get("wheels", []):
        found[str(entry["variant"])] = Wheel(variant=str(entry["variant"]), distribution=str(entry["distribution"]),
                                             path=folder / str(entry["file"]), size=int(entry["size"]),
                                             sha256=str(entry["sha256"]))
    if "base" not in found:
        raise WheelhouseError(f"benchmarks: {folder / REPORT_NAME} lists no base wheel; run `python -m wheel_builder`"
                              " first")
    return found


def open_wheelhouse(folder: Path) -> Wheelhouse:
    """Read ``folder``'s build report; fail with one line when it is missing, failed or incomplete."""
    report_path = folder / REPORT_NAME
    if not report_path.is_file():
        raise WheelhouseError(f"benchmarks: no wheelhouse at {folder} ({REPORT_NAME} missing);"
                              " run `python -m wheel_builder` first")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if not report.get("ok"):
        raise WheelhouseError(f"benchmarks: {report_path} says the build failed its checks; re-run"
                              " `python -m wheel_builder` (the benchmarks measure only what would be shipped)")
    wheels = wheels_by_variant(report, folder)
    missing = [w.path.name for w in wheels.values() if not w.path.is_file()]
    if missing:
        raise WheelhouseError(f"benchmarks: {folder} lacks {', '.join(missing)} named in {REPORT_NAME};"
                              " run `python -m wheel_builder` first")
    return Wheelhouse(folder=folder, target=str(report.get("target", "?")), wheels=wheels)


@dataclass(frozen=True, kw_only=True)
class Installed:
    """One variant installed from the wheelhouse into its own site folder."""

    variant: str
    site: Path
    """Put on PYTHONPATH: holds ``jemalloc_sys`` (and ``jemalloc_sys_<variant>``)."""
    package: Path
    """The active variant's package folder: its ``lib/``, ``include/`` and build record."""
    record: dict[str, Any]

    @property
    def inprocess(self) -> Path:
        """The in-process library (``_rjem_`` prefix, global-dynamic TLS, soname libjemalloc_sys.so.2)."""
        return self.package / "lib" / str(self.record["library"])

    @property
    def preload(self) -> Path:
        """The preload library (unprefixed, initial-exec TLS) that ``jemalloc-sys run`` preloads."""
        return self.package / "lib" / str(self.record["preload"]["library"])

    @property
    def base_lib_dir(self) -> Path:
        """``-L`` for code linked against the package (``-ljemalloc_sys``), as an extension's build uses."""
        return self.site / "jemalloc_sys" / "lib"


def package_name(variant: str) -> str:
    return "jemalloc_sys" if variant == "base" else f"jemalloc_sys_{variant}"


def record_in_wheel(wheel: Path, variant: str) -> dict[str, Any]:
    """The build record inside a wheel, read without installing it (the in-process library's, with ``preload``)."""
    with zipfile.ZipFile(wheel) as zf:
        record: dict[str, Any] = json.loads(zf.read(f"{package_name(variant)}/_build_record.json"))
    return record


_INSTALLED: dict[tuple[Path, str], Installed] = {}


def install(house: Wheelhouse, variant: str, work: Path) -> Installed:
    """``pip install --no-deps --no-index --target <work>/site-<variant> <base wheel> [<companion wheel>]``, once."""
    if (house.folder, variant) in _INSTALLED:
        return _INSTALLED[house.folder, variant]
    site = Path(tempfile.mkdtemp(prefix=f"site-{variant}-", dir=work))
    wheels = [str(w.path) for w in house.for_variant(variant)]
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--disable-pip-version-check", "--target", str(site), *wheels],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise WheelhouseError(f"benchmarks: pip could not install the {variant} wheels: {last}")
    package = site / package_name(variant)
    record = json.loads((package / "_build_record.json").read_text(encoding="utf-8"))
    _INSTALLED[house.folder, variant] = Installed(variant=variant, site=site, package=package, record=record)
    return _INSTALLED[house.folder, variant]
