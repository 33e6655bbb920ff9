"""Where sources and finished builds are kept, and how entries appear atomically.

A cache entry is written under a temporary name and renamed into place only
when complete, so an interrupted build (Ctrl-C during make) or two builds racing
for the same key never leave a half-written entry that a later build would trust.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import SettingError


def default_cache_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "jemalloc-sys" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "jemalloc-sys"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jemalloc-sys"


def cache_root(configured: str) -> Path:
    """The cache folder, created and checked for writability up front."""
    root = Path(configured).expanduser() if configured else default_cache_dir()
    source = "JEMALLOC_SYS_CACHE_DIR" if configured else "the default cache folder"
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=root, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise SettingError(
            f"{source} {str(root)!r} is not a writable folder ({exc.strerror or exc});"
            " set JEMALLOC_SYS_CACHE_DIR to a folder you can write"
        ) from None
    return root


@contextlib.contextmanager
def staged_entry(final: Path) -> Iterator[Path]:
    """Yield a scratch folder that becomes ``final`` only if the block succeeds.

    If another process published ``final`` first, its copy wins and ours is
    discarded: both were built from the same key, so they are interchangeable.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield scratch
        os.chmod(scratch, 0o755)  # mkdtemp makes it private; a shared cache must be readable
        try:
            os.replace(scratch, final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
