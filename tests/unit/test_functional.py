"""wheel_builder.functional: how a probe is started, checked with stand-ins (nothing is built)."""

from __future__ import annotations

from pathlib import Path

from conftest import program

from wheel_builder import functional


def _library(flavour: str) -> functional.Library:
    return functional.Library(flavour=flavour, path=Path(f"/wheel/lib/lib-{flavour}.so"), prefix="",
                              features=frozenset({"profiling"}))


def test_under_qemu_only_ld_preload_goes_through_minus_e_and_commas_survive() -> None:
    platform = functional.Platform(compiler=["cc"], runner=[str(program("qemu_stand_in.py"))])
    assert platform.qemu
    result, how = functional._run(platform, Path("/probe"), _library("preload"), ["prof", "/x.heap"],
                                  {"MALLOC_CONF": "prof:true,lg_prof_sample:0"})
    assert result is not None, how
    # qemu's -E splits at commas: a malloc_conf must reach the guest through the environment instead.
    assert result["sets"] == ["LD_PRELOAD=/wheel/lib/lib-preload.so"]
    assert result["malloc_conf"] == "prof:true,lg_prof_sample:0"
    assert result["ld_preload"] is None  # never qemu's own
    assert result["program"] == ["/probe", "/wheel/lib/lib-preload.so", "", "prof", "/x.heap"]
