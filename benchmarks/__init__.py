"""Benchmarks behind the README's performance section (``python -m benchmarks``).

Not tests: nothing here asserts. Every jemalloc-sys contender is a file from the
wheelhouse (``python -m wheel_builder``), installed as pip installs it: the
numbers describe what we ship. Each section measures its contenders side by
side, interleaved round by round (so a burst of load on a shared machine hits
every contender alike), and reports medians and ratios from one run.
"""

# Imported first: puts the checkout on sys.path, so every module can import jemalloc_build.
from . import paths as paths
