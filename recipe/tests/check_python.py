"""Recipe test for the jemalloc-sys Python package in a conda environment.

It must use the environment's libjemalloc-sys (no copy of its own), load it, and
report the features that library was built with, as jemalloc itself confirms.
"""

import os
import sys
from pathlib import Path

import jemalloc_sys
from jemalloc_sys import ctl

prefix = Path(os.environ.get("PREFIX") or os.environ.get("CONDA_PREFIX") or sys.prefix).resolve()
library = Path(jemalloc_sys.library_path()).resolve()
package = Path(jemalloc_sys.__file__).resolve().parent
assert prefix in library.parents, f"{library} is not in the environment {prefix}"
assert package not in library.parents, f"{library} is a private copy inside {package}"
assert not (package / "lib").exists(), f"{package / 'lib'} exists: the Python package carries a library"

jemalloc_sys.load()
allocator = ctl.default()
features = jemalloc_sys.features()
for name, feature in (("config.prof", "profiling"), ("config.stats", "stats"), ("config.debug", "debug")):
    value = bool(allocator.read(name, "bool"))
    assert value == (feature in features), f"{name}={value} but features={sorted(features)}"
version = allocator.read("version", "const char *")
print(f"jemalloc_sys {jemalloc_sys.__version__}: variant {jemalloc_sys.variant()}, jemalloc {version},"
      f" features {','.join(sorted(features))}, library {library}")
