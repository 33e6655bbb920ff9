"""A small WSGI service that allocates like a real one, for gunicorn (``--chdir benchmarks/workloads wsgi_app:app``).

Each request: parse a JSON body, build per-request buffers of varied sizes (a
template render, a serialized record...), grow this worker's cache with an
entry, and answer a JSON body of varied size. The cache is what makes memory
creep in real services: entries of mixed sizes and lifetimes, dropped when it
is full and again when the worker has been idle for a while (a TTL cache's
janitor), so that after the load all of it could go back to the OS and the idle
phase measures how much the allocator really returns.

Bytes are written with ``b"x" * n``: ``bytes(n)`` would come from calloc, whose
untouched fresh pages never count, and PSS would then measure the allocator's
zeroing strategy instead of its reuse.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

CACHE_LIMIT = 3000
"""Entries before the cache is dropped (about 100 MB per worker at the average entry size, 4-64 KiB): a
service whose heap is large next to the ~25 MB every worker holds from start-up, as the ones that creep are."""
IDLE_DROP_SECONDS = 2.0
"""The janitor drops the cache once the worker has served nothing for this long."""
BUFFER_SIZES = (64, 256, 1024, 4096, 16384, 65536, 262144)

_cache: dict[int, bytes] = {}
_keys = itertools.count()
_lock = threading.Lock()
_last_request = [time.monotonic()]
_janitor: list[threading.Thread] = []


def _janitor_loop() -> None:
    while True:
        time.sleep(0.5)
        if time.monotonic() - _last_request[0] > IDLE_DROP_SECONDS:
            with _lock:
                _cache.clear()


def _start_janitor() -> None:
    """One janitor thread per worker, started by its first request (after gunicorn forked it)."""
    with _lock:
        if not _janitor:
            thread = threading.Thread(target=_janitor_loop, name="cache-janitor", daemon=True)
            thread.start()
            _janitor.append(thread)


def handle(request: dict[str, Any]) -> bytes:
    """The service's work for one request; returns the response body."""
    rng = random.Random(request.get("seed", 0))
    scratch = [b"\x01" * rng.choice(BUFFER_SIZES[:-1]) for _ in range(rng.randrange(4, 24))]
    if rng.random() < 0.1:
        scratch.append(b"\x01" * BUFFER_SIZES[-1])  # now and then a big one (an upload, a report)
    items = [{"id": i, "name": f"item-{i}-{rng.randrange(1 << 20)}", "tags": [f"t{j}" for j in range(i % 7)],
              "score": rng.random(), "blob": "x" * rng.randrange(16, 2048)} for i in range(rng.randrange(5, 120))]
    with _lock:
        _cache[next(_keys)] = b"\x02" * rng.randrange(4096, 65536)  # a new entry per request
        if len(_cache) > CACHE_LIMIT:
            _cache.clear()
    payload = request.get("payload", [])
    body = json.dumps({"items": items, "echo": payload[: len(payload) // 2], "buffers": sum(map(len, scratch))})
    return body.encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    _last_request[0] = time.monotonic()
    if not _janitor:
        _start_janitor()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    body = handle(json.loads(raw) if raw else {})
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
