"""The conda recipe (``recipe/``) against the project: one version, the builder's variants, no flags of its own.

tests/integration/test_conda.py renders and builds it.
"""

from __future__ import annotations

import re

from conftest import ROOT, recipe_yaml

from jemalloc_build import project, variants

RECIPE_DIR = ROOT / "recipe"
VERSION = project.version()


def test_recipe_version_is_the_project_version_and_its_source_our_sdist() -> None:
    """The version is written in the recipe once; the source is the sdist PyPI serves for it, never a path."""
    recipe = recipe_yaml("recipe.yaml")
    assert recipe["context"]["version"] == VERSION
    source = recipe["source"]
    assert set(source) == {"url", "sha256"}, "one source: the sdist (it carries the jemalloc tarball)"
    assert 'default="https://pypi.org/packages/source/j/jemalloc-sys/jemalloc_sys-" ~ version ~ ".tar.gz"' in (
        source["url"])
    assert source["sha256"] == '${{ env.get("JEMALLOC_SYS_SDIST_SHA256") }}'  # no default: never unverified




def test_variants_are_the_builders_variants() -> None:
    assert recipe_yaml("variants.yaml")["jemalloc_variant"] == [v.name for v in variants.VARIANTS]


def test_python_min_is_the_projects_requires_python() -> None:
    """CFEP-25: the noarch package is built and tested with the oldest Python pyproject.toml allows."""
    requires = project.pyproject()["project"]["requires-python"]
    assert recipe_yaml("variants.yaml")["python_min"] == [requires.removeprefix(">=")]


def test_no_configure_flag_is_spelled_in_the_recipe() -> None:
    """The recipe names a variant; features and configure flags come from the builder only."""
    flag = re.compile(r"--(?:enable|disable|with|without)-[a-z]")
    for path in RECIPE_DIR.rglob("*"):
        if path.is_file():
            assert not flag.search(path.read_text(encoding="utf-8", errors="replace")), path
