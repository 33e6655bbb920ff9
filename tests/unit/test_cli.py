"""The `jemalloc-sys` command forwards `info` flags to `python -m jemalloc_sys`."""

from __future__ import annotations

import pytest

from jemalloc_sys import cli


def test_info_accepts_the_flags_of_python_m_jemalloc_sys(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["info", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--cflags" in out and "--libs" in out


def test_info_in_an_unbuilt_checkout_says_how_to_build(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from jemalloc_sys import _record

    def not_built() -> dict[str, object]:
        raise _record.NotBuiltError("jemalloc_sys has no built library; install it with pip")

    monkeypatch.setattr(_record, "record", not_built)
    assert cli.main(["info", "--cflags"]) == 1
    assert "install it with pip" in capsys.readouterr().err
