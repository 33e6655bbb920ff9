"""The release check's own logic on stand-in files (fast, no build).

Empty files with the right names exercise the file list; a file of garbage
exercises the per-file checks and twine. tests/integration/test_release_check.py
runs the same command on real wheels and sdists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jemalloc_build import variants
from wheel_builder import published, release_check

VERSION = "5.3.1.0"
TAGS = {"manylinux-x86_64": "manylinux2014_x86_64.manylinux_2_17_x86_64", "windows-amd64": "win_amd64"}


def _names(platforms: tuple[str, ...]) -> list[str]:
    names = [f"{published.stem(v)}-{VERSION}.tar.gz" for v in variants.VARIANTS]
    for name in platforms:
        platform = published.BY_NAME[name]
        names += [f"{published.stem(v)}-{VERSION}-py3-none-{TAGS[name]}.whl" for v in variants.VARIANTS
                  if published.publishes(v, platform)]
    return names


def _folder(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "dist"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes(b"")
    (folder / "build-report.json").write_text("{}")  # not a distribution: ignored
    return folder


def _sort(folder: Path, *platforms: str) -> tuple[list[release_check.Check], list[release_check.Artifact]]:
    return release_check.sort_files(folder, VERSION, tuple(published.BY_NAME[p] for p in platforms))


def _failures(checks: list[release_check.Check]) -> list[str]:
    return [detail for _, ok, detail in checks if not ok]


def test_the_complete_set_passes_and_windows_has_no_profiling_or_debug(tmp_path: Path) -> None:
    names = _names(("manylinux-x86_64", "windows-amd64"))
    assert len(names) == 4 + 4 + 2
    checks, found = _sort(_folder(tmp_path, names), "manylinux-x86_64", "windows-amd64")
    assert _failures(checks) == []
    assert sorted(a.path.name for a in found) == sorted(names)


def test_a_missing_wheel_is_named(tmp_path: Path) -> None:
    names = _names(("manylinux-x86_64",))
    gone = f"jemalloc_sys_stats-{VERSION}-py3-none-{TAGS['manylinux-x86_64']}.whl"
    names.remove(gone)
    checks, _ = _sort(_folder(tmp_path, names), "manylinux-x86_64")
    assert _failures(checks) == [rf"missing jemalloc_sys_stats-{VERSION}-py3-none-<manylinux(_\d+_\d+|2014)_x86_64>.whl"]


def test_a_missing_sdist_and_a_platform_not_built_are_named(tmp_path: Path) -> None:
    names = _names(("manylinux-x86_64",))
    names.remove(f"jemalloc_sys_debug-{VERSION}.tar.gz")
    failures = _failures(_sort(_folder(tmp_path, names), "manylinux-x86_64", "macos-arm64")[0])
    assert f"missing jemalloc_sys_debug-{VERSION}.tar.gz" in failures
    assert sum("macosx" in f and f.startswith("missing ") for f in failures) == 4


@pytest.mark.parametrize(("name", "why"), [
    (f"jemalloc_sys-5.3.1.1-py3-none-{TAGS['manylinux-x86_64']}.whl", "version '5.3.1.1', the release is 5.3.1.0"),
    (f"jemalloc_sys_profiling-{VERSION}-py3-none-win_amd64.whl", "not published for windows-amd64"),
    (f"jemalloc_sys-{VERSION}-cp312-cp312-{TAGS['manylinux-x86_64']}.whl", "tagged cp312-cp312, expected py3-none"),
    (f"jemalloc_sys-{VERSION}-py3-none-linux_x86_64.whl", "platform linux_x86_64 is none of the platforms"),
    (f"jemalloc_sys_fast-{VERSION}.tar.gz", "not a distribution of this project"),
])
def test_an_unexpected_file_fails_with_the_reason(tmp_path: Path, name: str, why: str) -> None:
    names = [*_names(("manylinux-x86_64", "windows-amd64")), name]
    failures = _failures(_sort(_folder(tmp_path, names), "manylinux-x86_64", "windows-amd64")[0])
    assert len(failures) == 1 and failures[0].startswith(name) and why in failures[0], failures


def test_two_wheels_for_one_slot_fail(tmp_path: Path) -> None:
    names = [*_names(("manylinux-x86_64",)), f"jemalloc_sys-{VERSION}-py3-none-manylinux_2_28_x86_64.whl"]
    failures = _failures(_sort(_folder(tmp_path, names), "manylinux-x86_64")[0])
    assert failures == [f"2 files for base manylinux-x86_64: jemalloc_sys-{VERSION}-py3-none-{TAGS['manylinux-x86_64']}"
                        f".whl, jemalloc_sys-{VERSION}-py3-none-manylinux_2_28_x86_64.whl"]


@pytest.mark.parametrize(("tag", "ok"), [("v5.3.1.0", True), ("refs/tags/v5.3.1.0", True), ("v5.3.1.1", False),
                                         ("5.3.1.0", False)])
def test_the_tag_must_name_the_version(tag: str, ok: bool) -> None:
    name, passed, detail = release_check.check_tag(tag, VERSION)
    assert name == "tag"
    assert passed is ok, detail
    if not ok:
        assert "does not name this tree's version 5.3.1.0" in detail and "v5.3.1.0" in detail


def test_a_broken_wheel_fails_twine_and_its_own_checks(tmp_path: Path) -> None:
    if shutil.which("twine") is None:
        pytest.skip("twine is not installed: pip install -r ci/requirements-test.txt")
    broken = tmp_path / f"jemalloc_sys-{VERSION}-py3-none-{TAGS['manylinux-x86_64']}.whl"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    twine = release_check.check_twine([broken])
    assert [ok for _, ok, _ in twine] == [False] and broken.name in twine[0][2]
    artifact = release_check.Artifact(path=broken, variant=variants.get("base"),
                                      platform=published.BY_NAME["manylinux-x86_64"])
    checks = release_check.check_wheel(artifact, VERSION)
    assert {name for name, _, _ in checks} == {"license", "sbom", "metadata"}
    assert not any(ok for _, ok, _ in checks)


def test_staging_puts_companions_and_base_in_their_batches(tmp_path: Path) -> None:
    names = _names(("manylinux-x86_64",))
    _, found = _sort(_folder(tmp_path, names), "manylinux-x86_64")
    companions, base = release_check.stage(found, tmp_path / "upload")
    assert (companions.name, base.name) == ("companions", "base")
    assert sorted(p.name for p in base.iterdir()) == sorted(n for n in names if n.startswith("jemalloc_sys-"))
    assert len(list(companions.iterdir())) == len(names) - 2
    with pytest.raises(release_check.SettingError, match="is not empty; give a new or empty folder"):
        release_check.stage(found, tmp_path / "upload")


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-folder", "--tag", "v5.3.1.0"], "release-check no-such-folder: no such folder; give the folder"),
    ([".", "--tag", "v5.3.1.0", "--platforms", "win64"], "--platforms='win64' is not a published platform"),
])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "wheel_builder", "release-check", *args], cwd=tmp_path,
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
