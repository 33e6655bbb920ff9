"""``python -m jemalloc_sys`` (jemalloc_sys/__main__.py): the link flags it prints, per library shape."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("library", "libs"), [
    ("libjemalloc_sys.so.2", "-L/x/lib -ljemalloc_sys -Wl,-rpath,/x/lib"),
    ("libjemalloc_sys.2.dylib", "/x/lib/libjemalloc_sys.2.dylib -Wl,-rpath,/x/lib"),
    ("jemalloc_sys.dll", "-L/x/lib -ljemalloc_sys"),
])
def test_cli_libs_per_library_shape(monkeypatch: pytest.MonkeyPatch, library: str, libs: str) -> None:
    from jemalloc_sys import __main__ as cli

    monkeypatch.setattr(cli._record, "record", lambda: {"library": library})
    monkeypatch.setattr(cli.jemalloc_sys, "get_library_dir", lambda: "/x/lib")
    assert cli._libs() == libs
