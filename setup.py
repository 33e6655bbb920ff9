"""setuptools entry point: all build logic lives in ``jemalloc_build``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from setuptools import setup  # noqa: E402

from jemalloc_build.setuptools_ext import BinaryDistribution, cmdclass  # noqa: E402
from jemalloc_build.variants import setup_kwargs  # noqa: E402

setup(cmdclass=cmdclass(), distclass=BinaryDistribution, **setup_kwargs(Path(__file__).resolve().parent))
