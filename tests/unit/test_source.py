"""Source handling: checksum before extraction, and extraction that cannot escape its folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from jemalloc_build import manifest, source
from jemalloc_build.errors import SourceError

MF = manifest.load()
TOP = MF.tarball.top_folder


def make_tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            data = b"x" if info.isfile() else None
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_manifest_pins_5_3_1_by_sha256() -> None:
    assert MF.version == "5.3.1"
    assert MF.version_string == "5.3.1-0-g81034ce1f1373e37dc865038e1bc8eeecf559ce8"
    assert MF.tarball.sha256 == "aac0e7afdbfb8abcbe7cab63597b63abacf22e8b701116a10a45b5ff50ac0c29"
    assert MF.tarball.size == 927159


def test_wrong_size_is_called_truncated(tmp_path: Path) -> None:
    bad = tmp_path / MF.tarball.filename
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(SourceError, match=r"is 1000 bytes, expected 927159 \(truncated or wrong file\)"):
        source.verify_tarball(bad, MF, origin="JEMALLOC_SYS_SOURCE=x")


def test_same_size_wrong_digest_names_both_digests(tmp_path: Path) -> None:
    bad = tmp_path / MF.tarball.filename
    bad.write_bytes(b"\1" * MF.tarball.size)
    with pytest.raises(SourceError, match=rf"has sha256 [0-9a-f]{{64}}, expected {MF.tarball.sha256}"):
        source.verify_tarball(bad, MF, origin="JEMALLOC_SYS_SOURCE=x")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (member(f"{TOP}/../evil"), "outside the tree"),
        (member("/etc/evil"), "outside the tree"),
        (member("elsewhere/file"), "outside the expected top folder"),
        (member(f"{TOP}/link", kind=tarfile.SYMTYPE, link="../../etc/passwd"), "leaves the tree"),
        (member(f"{TOP}/link", kind=tarfile.SYMTYPE, link="/etc/passwd"), "leaves the tree"),
        (member(f"{TOP}/hard", kind=tarfile.LNKTYPE, link="etc/passwd"), "leaves the tree"),
        (member(f"{TOP}/dev", kind=tarfile.CHRTYPE), "device or FIFO"),
    ],
)
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path: Path, entry: tarfile.TarInfo,
                                                                message: str) -> None:
    tar = make_tar(tmp_path / "t.tar.gz", [member(f"{TOP}/ok.txt"), entry])
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(SourceError, match=message):
        source.safe_extract(tar, dest, top=TOP, origin="test")
    assert list(dest.iterdir()) == []


def test_links_inside_the_tree_are_fine(tmp_path: Path) -> None:
    tar = make_tar(tmp_path / "t.tar.gz", [member(f"{TOP}/a/file"), member(f"{TOP}/a/link", kind=tarfile.SYMTYPE,
                                                                            link="file")])
    out = source.safe_extract(tar, tmp_path, top=TOP, origin="test")
    assert (out / "a" / "link").is_symlink()


def test_corrupt_archive_is_a_source_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b" + b"junk" * 10)
    with pytest.raises(SourceError, match=r"cannot read bad\.tar\.gz"):
        source.safe_extract(bad, tmp_path, top=TOP, origin="test")


def test_offline_copy_is_found_after_the_cache_and_still_verified(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / MF.tarball.filename).write_bytes(b"not the tarball")
    mf = manifest.Manifest(**{**MF.__dict__, "offline_dirs": (offline,)})
    monkeypatch.setattr(source, "VENDOR_DIR", tmp_path / "no-vendor")
    with pytest.raises(SourceError, match=r"offline copy .*: .* is 15 bytes, expected 927159"):
        source.locate_tarball("", mf, tmp_path / "cache")


@pytest.mark.parametrize("filters", [True, False], ids=["with-extraction-filters", "python-without-filters"])
def test_extraction_is_the_same_with_and_without_tarfiles_filters(tmp_path: Path, filters: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Extraction filters came in patch releases (3.11.4); Debian 12's Python 3.11.2 has none."""
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile extraction filters")
    setuid = member(f"{TOP}/tool")
    setuid.mode = 0o4777
    tar = make_tar(tmp_path / "t.tar.gz", [setuid, member(f"{TOP}/a/file")])
    out = source.safe_extract(tar, tmp_path / "out", top=TOP, origin="test")
    assert (out / "a" / "file").read_bytes() == b"x"
    assert (out / "tool").stat().st_mode & 0o7777 == 0o755  # no setuid, not writable by others
    with pytest.raises(SourceError):
        source.safe_extract(make_tar(tmp_path / "bad.tar.gz", [member("../escape")]), tmp_path / "o2", top=TOP,
                            origin="test")


def test_our_own_archives_extract_without_filters_and_refuse_links(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    good = make_tar(tmp_path / "sdist.tar.gz", [member("pkg-1.0/PKG-INFO")])
    source.safe_extract(good, tmp_path / "out", top="pkg-1.0", origin="sdist")
    assert (tmp_path / "out" / "pkg-1.0" / "PKG-INFO").read_bytes() == b"x"
    bad = make_tar(tmp_path / "bad.tar.gz", [member("pkg-1.0/link", kind=tarfile.SYMTYPE, link="/etc/passwd")])
    with pytest.raises(SourceError, match="refusing to extract"):
        source.safe_extract(bad, tmp_path / "out2", top="pkg-1.0", origin="sdist")
    assert not (tmp_path / "out2").exists()
