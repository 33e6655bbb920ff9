"""Child of the racing-builds test: one build of the configuration its environment describes.

Usage: python race_build.py PROJECT_ROOT; prints the result as one JSON line.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, sys.argv[1])

from jemalloc_build import build

environ = dict(os.environ)
result = build.build_jemalloc(build.settings_for(environ), environ=environ, report=lambda line: None)
print(json.dumps({"root": str(result.root), "library": str(result.library), "reused": result.reused}))
