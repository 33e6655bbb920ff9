"""Python frames in jemalloc heap profiles: start the hook, keep its names, read it back.

``jemalloc-sys run --profile DIR -- python app.py`` turns this on (it sets
``JEMALLOC_SYS_PYFRAMES=1`` and ``PYTHONMALLOC=malloc``, and the package's ``.pth``
file calls :func:`start_from_environment` at interpreter start-up); a program that
profiles itself calls :func:`start`. The work happens in a small C library shipped with
the profiling variants (``libjemalloc_sys_pyframes.so``, source
``jemalloc_build/csrc/pyframes.c``): jemalloc's sampled backtraces get one synthetic
frame per Python frame, named in a ``<dump>.pymap`` file written beside every dump.

That library knows nothing of CPython's structures; this module measures them on the
running interpreter and checks the measurement before switching anything on:

- the frame layout (code object, ``previous`` link, ``owner``) is a table per version,
  :data:`FRAME_LAYOUTS` (CPython 3.12 and 3.13; others get native frames only);
- where the thread state keeps its current frame is found by looking for the current
  frame's address in the thread state (directly, 3.13; through ``cframe``, 3.12);
- where a code object keeps its qualified name and file name, and how a compact ASCII
  string stores its bytes, likewise;
- then the C walk of the calling thread's frames must give exactly the code objects
  and lines ``sys._getframe()`` gives. Any mismatch: native frames only, with the reason.

Free-threaded builds and other platforms than Linux: native frames only (stated by
:class:`Status`). Names that are not compact ASCII are filled in from Python before an
on-demand dump (:func:`dump`) and at exit.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import JemallocError

ENV = "JEMALLOC_SYS_PYFRAMES"  # preload.PYFRAMES_VAR
"""Set to 1 by ``jemalloc-sys run --profile``: the start-up hook then calls :func:`start_from_environment`."""

LIBRARY = "libjemalloc_sys_pyframes.so"

FRAME_LAYOUTS: dict[tuple[int, int], dict[str, int]] = {
    # _PyInterpreterFrame (Include/internal/pycore_frame.h) on 64-bit builds: the code object (3.12 f_code,
    # 3.13 f_executable) first, ``previous`` next, ``owner`` after instr pointer, stacktop and return_offset;
    # FRAME_OWNED_BY_CSTACK = 3 marks the entry frame of each C call of _PyEval_EvalFrameDefault.
    # 3.13 publishes the same numbers in _PyRuntime.debug_offsets (a test compares).
    (3, 12): {"code": 0, "previous": 8, "owner": 70, "owner_cstack": 3},
    (3, 13): {"code": 0, "previous": 8, "owner": 70, "owner_cstack": 3},
}


class PyFramesError(JemallocError):
    """Python frames cannot be switched on (profiling off, no library, unknown layout...)."""


class _Config(ctypes.Structure):
    """``struct jsys_pf_config`` of pyframes.c, version 1."""

    _fields_ = [
        ("version", ctypes.c_int),
        ("mallctl", ctypes.c_void_p),
        ("get_tstate", ctypes.c_void_p),
        ("frame_get_line", ctypes.c_void_p),
        ("incref", ctypes.c_void_p),
        ("tstate_frame_offset", ctypes.c_size_t),
        ("cframe_frame_offset", ctypes.c_size_t),
        ("frame_code_offset", ctypes.c_size_t),
        ("frame_previous_offset", ctypes.c_size_t),
        ("frame_owner_offset", ctypes.c_size_t),
        ("owner_cstack", ctypes.c_int),
        ("code_type", ctypes.c_void_p),
        ("code_qualname_offset", ctypes.c_size_t),
        ("code_filename_offset", ctypes.c_size_t),
        ("str_length_offset", ctypes.c_size_t),
        ("str_state_offset", ctypes.c_size_t),
        ("str_ascii_mask", ctypes.c_uint32),
        ("str_ascii_data_offset", ctypes.c_size_t),
        ("eval_start", ctypes.c_size_t),
        ("eval_end", ctypes.c_size_t),
        ("python_frames", ctypes.c_int),
    ]


DIRECT = ctypes.c_size_t(-1).value
"""``cframe_frame_offset`` when the thread state points at the current frame itself (3.13)."""


@dataclass(frozen=True)
class Status:
    """What :func:`start` switched on; ``reason`` says why Python frames are off when they are."""

    python_frames: bool
    reason: str = ""
    library: str = ""


_state: dict[str, Any] = {}


def _library() -> ctypes.CDLL:
    from . import _record

    path = _record.library_dir() / LIBRARY
    if not path.is_file():
        raise PyFramesError(f"no {LIBRARY} in {path.parent}: Python frames ship with the profiling variants"
                            " on Linux; pip install 'jemalloc-sys[profiling]'")
    # PyDLL: calls keep the GIL, so the start-up check walks an attached thread like the hook will.
    lib = ctypes.PyDLL(str(path))
    lib.jsys_pf_install.argtypes = [ctypes.POINTER(_Config)]
    lib.jsys_pf_test_walk.argtypes = [ctypes.POINTER(_Config), ctypes.POINTER(ctypes.c_uint32), ctypes.c_uint]
    lib.jsys_pf_test_walk.restype = ctypes.c_uint
    lib.jsys_pf_test_copy_name.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Config), ctypes.c_char_p, ctypes.c_uint32]
    lib.jsys_pf_test_copy_name.restype = ctypes.c_uint32
    lib.jsys_pf_slot.argtypes = [ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_int)]
    lib.jsys_pf_slots.restype = ctypes.c_uint32
    lib.jsys_pf_set_name.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_char_p]
    lib.jsys_pf_region.restype = ctypes.c_void_p
    lib.jsys_pf_samples.restype = ctypes.c_uint64
    lib.jsys_pf_write_pymap.argtypes = [ctypes.c_char_p]
    return lib


def _function(name: str) -> int:
    address = ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value
    assert address is not None
    return address


def _tstate_function() -> str:
    return "PyThreadState_GetUnchecked" if sys.version_info >= (3, 13) else "_PyThreadState_UncheckedGet"


def _thread_state_frame_candidates() -> list[tuple[int, int]]:
    """Where the thread state keeps the current frame: (offset, DIRECT) or (offset of cframe, 0).

    Read while this very frame is the current one, so nothing here may call a Python
    function between taking the snapshot and comparing (ctypes.memmove and file reads are C).
    """
    # PYFUNCTYPE: the call keeps the GIL, so the thread stays attached (a CFUNCTYPE call would detach it).
    getter = ctypes.PYFUNCTYPE(ctypes.c_void_p)(_function(_tstate_function()))
    here = ctypes.c_void_p.from_address(id(sys._getframe()) + 3 * ctypes.sizeof(ctypes.c_void_p)).value
    snapshot = (ctypes.c_char * 1024)()
    ctypes.memmove(snapshot, getter(), ctypes.sizeof(snapshot))
    found: list[tuple[int, int]] = []
    with open("/proc/self/mem", "rb", buffering=0) as mem:  # reads that fail instead of crashing
        for offset in range(0, ctypes.sizeof(snapshot), 8):
            word = int.from_bytes(snapshot.raw[offset:offset + 8], sys.byteorder)
            if word == here:
                found.append((offset, DIRECT))
            elif 4096 < word < 1 << 47:
                try:
                    mem.seek(word)
                    if int.from_bytes(mem.read(8), sys.byteorder) == here:
                        found.append((offset, 0))
                except (OSError, ValueError, OverflowError):
                    continue
    return found


def _offset_of(obj: object, value: object, span: int = 256) -> int:
    """Offset of a pointer to ``value`` inside ``obj``'s memory, -1 when absent."""
    data = ctypes.string_at(id(obj), span)
    for offset in range(0, span, 8):
        if int.from_bytes(data[offset:offset + 8], sys.byteorder) == id(value):
            return offset
    return -1


class _Probe:
    """A method whose qualname differs from its name, so the two pointers cannot be confused."""

    def method(self) -> None:
        """Only its code object is used."""


def _string_layout(config: _Config) -> None:
    """Where a compact ASCII str keeps its length, state bits and bytes (measured, then checked in C)."""
    ascii_text, other = "jemalloc" + str(os.getpid()), "jémalloc" + str(os.getpid())
    config.str_length_offset = _offset_of_int(ascii_text, len(ascii_text))
    raw_ascii, raw_other = ctypes.string_at(id(ascii_text), 64), ctypes.string_at(id(other), 64)
    config.str_ascii_data_offset = raw_ascii.find(ascii_text.encode())
    state = config.str_ascii_data_offset - 8 if config.str_ascii_data_offset >= 8 else 0
    config.str_state_offset = state
    bit = (raw_ascii[state] ^ raw_other[state]) & raw_ascii[state]
    config.str_ascii_mask = bit | 0x20 if bit else 0  # with the compact bit, which both have


def _offset_of_int(obj: object, value: int) -> int:
    data = ctypes.string_at(id(obj), 64)
    for offset in range(0, 64, 8):
        if int.from_bytes(data[offset:offset + 8], sys.byteorder) == value:
            return offset
    return -1


def _eval_range() -> tuple[int, int]:
    """Start and end of _PyEval_EvalFrameDefault's code, from the ELF symbol table of its object."""
    from . import _elf
    from .ctl import _DlInfo

    start = _function("_PyEval_EvalFrameDefault")
    info = _DlInfo()
    dladdr = ctypes.CDLL(None).dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    if not dladdr(start, ctypes.byref(info)) or not info.dli_fname:
        raise PyFramesError("cannot tell which file defines _PyEval_EvalFrameDefault (dladdr)")
    path = os.fsdecode(info.dli_fname)
    if not os.path.isabs(path):
        path = os.path.realpath(sys.executable)
    size = _elf.read(path).symbol_size("_PyEval_EvalFrameDefault")
    if not size:
        raise PyFramesError(f"{path} has no size for _PyEval_EvalFrameDefault in its symbol tables")
    return start, start + size


def measure(mallctl_address: int) -> _Config:
    """The configuration for this interpreter; raises :class:`PyFramesError` saying why there is none."""
    if not sys.platform.startswith("linux"):
        raise PyFramesError("Python frames are implemented for Linux; this profile has native frames only")
    layout = FRAME_LAYOUTS.get(sys.version_info[:2])
    if layout is None or ctypes.sizeof(ctypes.c_void_p) != 8:
        raise PyFramesError(f"CPython {sys.version_info[0]}.{sys.version_info[1]} ({8 * ctypes.sizeof(ctypes.c_void_p)}"
                            "-bit) has no known frame layout (3.12 and 3.13, 64-bit): native frames only")
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise PyFramesError("free-threaded CPython: the frame walk relies on the GIL; native frames only")
    config = _Config(version=1, mallctl=mallctl_address, python_frames=1)
    config.get_tstate = _function(_tstate_function())
    config.frame_get_line = _function("PyUnstable_InterpreterFrame_GetLine")
    config.incref = _function("Py_IncRef")
    config.frame_code_offset, config.frame_previous_offset = layout["code"], layout["previous"]
    config.frame_owner_offset, config.owner_cstack = layout["owner"], layout["owner_cstack"]
    config.code_type = id(type(_Probe.method.__code__))
    code = _Probe.method.__code__
    config.code_qualname_offset = _offset_of(code, getattr(code, "co_qualname", None))
    config.code_filename_offset = _offset_of(code, code.co_filename)
    if config.code_qualname_offset < 0 or config.code_filename_offset < 0:
        raise PyFramesError("cannot find co_qualname/co_filename in a code object: native frames only")
    _string_layout(config)
    config.eval_start, config.eval_end = _eval_range()
    return config


def _walk_matches(lib: ctypes.CDLL, config: _Config) -> bool:
    """The C walk, from inside a known Python call chain, gives the code objects and lines Python sees."""
    slots = (ctypes.c_uint32 * 64)()
    count = lib.jsys_pf_test_walk(ctypes.byref(config), slots, 64)
    frame: Any = sys._getframe()
    expected: list[tuple[int, int]] = []
    while frame is not None and len(expected) < count:
        expected.append((id(frame.f_code), frame.f_lineno))
        frame = frame.f_back
    code, line = ctypes.c_void_p(), ctypes.c_int()
    walked = []
    for n in slots[:count]:
        if lib.jsys_pf_slot(n, ctypes.byref(code), ctypes.byref(line)) < 0:
            return False
        walked.append((code.value, line.value))
    # The walk happens inside the ctypes call made on the line above "expected" was measured: compare
    # code objects everywhere, lines for the callers (the innermost line moved on since).
    return count > 1 and [c for c, _ in walked] == [c for c, _ in expected] and walked[1:] == expected[1:]


def _check(lib: ctypes.CDLL, config: _Config) -> str:
    """'' when the measured configuration reads this interpreter right, else what went wrong."""
    for text in ("jemalloc_sys" + str(os.getpid()), "jémalloc"):
        out = ctypes.create_string_buffer(64)
        n = lib.jsys_pf_test_copy_name(id(text), ctypes.byref(config), out, 64)
        wanted = text.encode() if text.isascii() else b""
        if out.raw[:n] != wanted:
            config.str_ascii_mask = 0  # no name capture in C: Python fills every name in instead
    candidates = _thread_state_frame_candidates()
    for offset, inner in candidates:
        config.tstate_frame_offset, config.cframe_frame_offset = offset, inner
        if _walk_matches(lib, config):
            return ""
    return f"the frame walk did not match sys._getframe() ({len(candidates)} candidate layouts)"


def start(allocator: Any = None) -> Status:
    """Give ``allocator``'s heap profiles Python frames (default: the process allocator, else the in-process one).

    Profiling must be on in that jemalloc (``prof:true``). Returns what was switched on;
    raises :class:`PyFramesError` only when profiling itself is unavailable.
    """
    from . import ctl

    if _state.get("status") is not None:
        status: Status = _state["status"]
        return status
    if allocator is None:
        try:
            allocator = ctl.process_allocator()
        except JemallocError:
            allocator = ctl.default()
    if not allocator.get("opt.prof"):
        raise PyFramesError(f"profiling is off in {allocator.label}; start with prof:true"
                            " (jemalloc-sys run --profile DIR -- CMD)")
    lib = _library()
    mallctl = ctypes.cast(allocator._mallctl, ctypes.c_void_p).value or 0
    try:
        config = measure(mallctl)
        reason = _check(lib, config)
    except PyFramesError as exc:
        config, reason = _Config(version=1, mallctl=mallctl, python_frames=0), str(exc)
    if reason:
        config.python_frames = 0
    rc = lib.jsys_pf_install(ctypes.byref(config))
    if rc != 0:
        raise PyFramesError(f"installing the profiling hooks failed ({os.strerror(rc)})")
    _state.update(lib=lib, allocator=allocator, status=Status(python_frames=not reason, reason=reason,
                                                               library=str(lib._name)))
    atexit.register(sync_names)
    result: Status = _state["status"]
    return result


def start_from_environment() -> None:
    """The start-up hook (``jemalloc_sys_pyframes.pth``): start when ``JEMALLOC_SYS_PYFRAMES=1``, quietly."""
    if os.environ.get(ENV) != "1":
        return
    try:
        status = start()
    except JemallocError as exc:
        print(f"jemalloc-sys: Python frames off: {exc}", file=sys.stderr)
        return
    if not status.python_frames:
        print(f"jemalloc-sys: Python frames off: {status.reason}", file=sys.stderr)


def sync_names() -> int:
    """Give the C side the names it could not copy (non-ASCII); returns how many were filled in."""
    lib = _state.get("lib")
    if lib is None:
        return 0
    filled = 0
    code, line = ctypes.c_void_p(), ctypes.c_int()
    for n in range(1, lib.jsys_pf_slots()):
        if lib.jsys_pf_slot(n, ctypes.byref(code), ctypes.byref(line)) != 0:
            continue  # named already (or not a slot)
        obj = ctypes.cast(code, ctypes.py_object).value  # the slot holds a reference: it is alive
        lib.jsys_pf_set_name(n, obj.co_qualname.encode("utf-8", "replace"),
                             obj.co_filename.encode("utf-8", "replace"))
        filled += 1
    return filled


def dump(path: str | os.PathLike[str]) -> Path:
    """Write a heap profile to ``path`` with its ``.pymap`` (names synced first); returns ``path``."""
    allocator = _state.get("allocator")
    if allocator is None:
        raise PyFramesError("Python frames are not started: call jemalloc_sys.pyframes.start() first")
    sync_names()
    allocator.prof_dump(os.fspath(path))
    return Path(path)
