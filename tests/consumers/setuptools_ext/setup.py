"""A setuptools C extension linked against jemalloc-sys: headers and -l from its get_* functions.

No rpath: at run time the package's __init__ calls jemalloc_sys.load() first, and the
extension's DT_NEEDED (libjemalloc_sys.so.2) is then satisfied by soname.
"""

from setuptools import Extension, setup

import jemalloc_sys

setup(
    ext_modules=[
        Extension(
            "jemalloc_probe._probe",
            ["src/jemalloc_probe/_probe.c"],
            include_dirs=[jemalloc_sys.get_include()],
            library_dirs=[jemalloc_sys.get_library_dir()],
            libraries=["jemalloc_sys"],
        )
    ]
)
