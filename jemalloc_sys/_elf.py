"""Just enough ELF reading for jemalloc-sys: symbols, soname, needed libraries, TLS flags.

Used at build time (to learn what a ``JEMALLOC_OVERRIDE`` library is), at run
time (symbolizing heap profiles without binutils) and by the wheel checks.
Pure Python so that none of those needs ``nm``/``readelf`` on the machine.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

DT_NEEDED, DT_STRTAB, DT_SONAME, DT_FLAGS, DT_FLAGS_1 = 1, 5, 14, 30, 0x6FFFFFFB
DF_STATIC_TLS = 0x10
SHT_SYMTAB, SHT_DYNSYM, SHT_DYNAMIC = 2, 11, 6
SHT_GNU_VERNEED = 0x6FFFFFFE
STT_FUNC, STT_OBJECT, STT_TLS, STT_GNU_IFUNC = 2, 1, 6, 10
PT_LOAD, PT_TLS = 1, 7


class NotELFError(ValueError):
    pass


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    kind: int
    binding: int
    defined: bool


@dataclass
class ELFInfo:
    path: Path
    machine: int
    bits: int
    little_endian: bool
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    flags: int = 0
    dynamic_symbols: list[Symbol] = field(default_factory=list)
    symbols: list[Symbol] = field(default_factory=list)
    """The full .symtab when present (unstripped), else empty."""
    load_segments: list[tuple[int, int, int]] = field(default_factory=list)
    """(virtual address, file offset, memory size) of each PT_LOAD segment."""
    tls_size: int = 0
    version_needs: dict[str, list[str]] = field(default_factory=dict)
    """Symbol versions required from each needed library (``libc.so.6`` -> ``GLIBC_2.17``...)."""

    @property
    def static_tls(self) -> bool:
        """True when the object uses initial-exec TLS (cannot be dlopen'ed once the process runs)."""
        return bool(self.flags & DF_STATIC_TLS)

    def newest_version(self, prefix: str = "GLIBC_") -> tuple[int, ...] | None:
        """Highest ``<prefix>X.Y[.Z]`` version needed (manylinux policy checks), None if none."""
        found = [tuple(int(p) for p in name[len(prefix):].split("."))
                 for names in self.version_needs.values() for name in names
                 if name.startswith(prefix) and name[len(prefix):].replace(".", "").isdigit()]
        return max(found) if found else None

    def exported(self) -> list[str]:
        return sorted({s.name for s in self.dynamic_symbols if s.defined and s.name and s.binding != 0})

    def symbol_size(self, name: str) -> int:
        """The size of the defined symbol ``name`` (``.symtab`` first, then ``.dynsym``); 0 when absent."""
        for table in (self.symbols, self.dynamic_symbols):
            for sym in table:
                if sym.name == name and sym.defined and sym.size:
                    return sym.size
        return 0

    def functions(self) -> list[Symbol]:
        """Defined functions from .symtab and .dynsym, sorted by address (for symbolization)."""
        seen: dict[tuple[int, str], Symbol] = {}
        for sym in (*self.symbols, *self.dynamic_symbols):
            if sym.defined and sym.kind in (STT_FUNC, STT_GNU_IFUNC) and sym.value:
                seen.setdefault((sym.value, sym.name), sym)
        return sorted(seen.values(), key=lambda s: s.value)


def read(path: str | Path) -> ELFInfo:
    path = Path(path)
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise NotELFError(f"{path} is not an ELF file")
    bits = 64 if data[4] == 2 else 32
    end = "<" if data[5] == 1 else ">"
    if bits == 64:
        hdr = struct.unpack_from(end + "HHIQQQIHHHHHH", data, 16)
        _, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = hdr
    else:
        hdr = struct.unpack_from(end + "HHIIIIIHHHHHH", data, 16)
        _, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = hdr
    info = ELFInfo(path=path, machine=machine, bits=bits, little_endian=end == "<")

    for i in range(phnum):
        off = phoff + i * phentsize
        if bits == 64:
            p_type, _, p_offset, p_vaddr, _, _, p_memsz, _ = struct.unpack_from(end + "IIQQQQQQ", data, off)
        else:
            p_type, p_offset, p_vaddr, _, _, p_memsz, _, _ = struct.unpack_from(end + "IIIIIIII", data, off)
        if p_type == PT_LOAD:
            info.load_segments.append((p_vaddr, p_offset, p_memsz))
        elif p_type == PT_TLS:
            info.tls_size = p_memsz

    sections = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if bits == 64:
            sh = struct.unpack_from(end + "IIQQQQIIQQ", data, off)
        else:
            sh = struct.unpack_from(end + "IIIIIIIIII", data, off)
        sections.append(sh)

    def section_bytes(idx: int) -> bytes:
        sh = sections[idx]
        return data[sh[4] : sh[4] + sh[5]]

    def cstr(table: bytes, offset: int) -> str:
        stop = table.find(b"\0", offset)
        return table[offset:stop].decode("utf-8", "replace")

    for sh in sections:
        sh_type, sh_link, sh_entsize = sh[1], sh[6], sh[9]
        if sh_type in (SHT_SYMTAB, SHT_DYNSYM) and sh_entsize:
            strtab = section_bytes(sh_link)
            table = section_bytes(sections.index(sh))
            out = info.symbols if sh_type == SHT_SYMTAB else info.dynamic_symbols
            for j in range(len(table) // sh_entsize):
                if bits == 64:
                    name, st_info, _, shndx, value, size = struct.unpack_from(end + "IBBHQQ", table, j * sh_entsize)
                else:
                    name, value, size, st_info, _, shndx = struct.unpack_from(end + "IIIBBH", table, j * sh_entsize)
                out.append(Symbol(cstr(strtab, name), value, size, st_info & 0xF, st_info >> 4, shndx != 0))
        elif sh_type == SHT_DYNAMIC and sh_entsize:
            strtab = section_bytes(sh_link)
            table = section_bytes(sections.index(sh))
            fmt = end + ("qQ" if bits == 64 else "iI")
            for j in range(len(table) // sh_entsize):
                tag, val = struct.unpack_from(fmt, table, j * sh_entsize)
                if tag == DT_NEEDED:
                    info.needed.append(cstr(strtab, val))
                elif tag == DT_SONAME:
                    info.soname = cstr(strtab, val)
                elif tag == DT_FLAGS:
                    info.flags = val
        elif sh_type == SHT_GNU_VERNEED:
            strtab = section_bytes(sh_link)
            table = section_bytes(sections.index(sh))
            offset = 0
            for _ in range(sh[7]):  # sh_info: number of Verneed entries
                _, count, file_off, aux, next_off = struct.unpack_from(end + "HHIII", table, offset)
                names = info.version_needs.setdefault(cstr(strtab, file_off), [])
                aux_off = offset + aux
                for _ in range(count):
                    _, _, _, name_off, aux_next = struct.unpack_from(end + "IHHII", table, aux_off)
                    names.append(cstr(strtab, name_off))
                    aux_off += aux_next
                if not next_off:
                    break
                offset += next_off
    return info
