"""jemalloc_build.project: what pyproject.toml declares, against what the tests assume."""

from __future__ import annotations

from conftest import SUPPORTED_PYTHONS

from jemalloc_build import project


def test_supported_versions_are_what_requires_python_says() -> None:
    assert project.pyproject()["project"]["requires-python"] == f">={SUPPORTED_PYTHONS[0]}"
    classifiers = project.pyproject()["project"]["classifiers"]
    assert {c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")} == set(
        SUPPORTED_PYTHONS)
