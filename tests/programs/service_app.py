"""A WSGI app for the service tests: each request reports the worker's allocator state.

Run by gunicorn (``--chdir tests/programs service_app:app``). The response is one
JSON object: the worker's PID, whether jemalloc's ``background_thread`` is on in
it (through ``jemalloc_sys.process_allocator()``, ``null`` when the worker's malloc
is not jemalloc) and the names of its threads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any


def _threads() -> list[str]:
    names = []
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/comm", encoding="utf-8") as fh:
            names.append(fh.read().strip())
    return sorted(names)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    try:
        import jemalloc_sys

        background: bool | None = bool(jemalloc_sys.process_allocator().background_thread)
    except Exception:  # not under jemalloc: say so instead of failing the request
        background = None
    body = json.dumps({"pid": os.getpid(), "background_thread": background, "threads": _threads()}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
