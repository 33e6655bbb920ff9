"""The pinned-source manifest (``vendor/jemalloc/manifest.toml``) as typed data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .project import ROOT as PROJECT_ROOT
from .project import loads

VENDOR_DIR = PROJECT_ROOT / "vendor" / "jemalloc"


@dataclass(frozen=True, kw_only=True)
class Tarball:
    filename: str
    sha256: str
    size: int
    top_folder: str
    needs_autoconf: bool
    urls: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Manifest:
    version: str
    version_string: str
    commit: str
    license: str
    license_file: str
    homepage: str
    tarballs: tuple[Tarball, ...]
    offline_dirs: tuple[Path, ...] = ()
    """Folders (relative to the project) where machines without internet keep the pinned tarball."""

    @property
    def tarball(self) -> Tarball:
        """The primary accepted tarball (the one the sdist carries)."""
        return self.tarballs[0]

    def by_sha256(self, digest: str) -> Tarball | None:
        return next((t for t in self.tarballs if t.sha256 == digest), None)


def load(path: Path | None = None) -> Manifest:
    data = loads((path or VENDOR_DIR / "manifest.toml").read_text(encoding="utf-8"))["jemalloc"]
    tarballs = tuple(
        Tarball(
            filename=t["filename"],
            sha256=t["sha256"].lower(),
            size=int(t["size"]),
            top_folder=t["top_folder"],
            needs_autoconf=bool(t.get("needs_autoconf", False)),
            urls=tuple(t.get("urls", ())),
        )
        for t in data["tarballs"]
    )
    return Manifest(
        version=data["version"],
        version_string=data["version_string"],
        commit=data["commit"],
        license=data["license"],
        license_file=data["license_file"],
        homepage=data["homepage"],
        tarballs=tarballs,
        offline_dirs=tuple(PROJECT_ROOT / d for d in data.get("offline_dirs", ())),
    )
