"""RDB object serialization (rdb.c), shared by DUMP/RESTORE and, later, snapshots.

Values are written exactly as Redis writes them so that payloads travel both ways
between redslot and real Redis: RDB length encoding (6/14/32/64 bit), strings as
integers (INT8/16/32) when their text is a canonical 32-bit number, LZF-compressed when
longer than 20 bytes and compression saves at least 4 bytes, raw otherwise.

The LZF compressor is liblzf 3.6 (what Debian links Redis against, and what Redis
bundles) with VERY_FAST and HLOG 16, run with a clean hash table. liblzf leaves its table
uninitialised, so on rare inputs real Redis may find an extra back reference through a
stale slot; both outputs decompress to the same bytes.

Types plug in through two lookups: ``LOADERS`` (RDB type byte -> loader) and
``SAVERS`` (Python value class -> (type byte, saver)), filled from each type's record
(registry.py).

DUMP payloads carry RDB version 11 (Redis 7.2). RESTORE accepts versions up to 11. Redis
7.0 (RDB 10) refuses version-11 payloads as it refuses any newer version, exactly as it
refuses a real 7.2's DUMP; the payload body is identical, only the trailer differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base.compiled import extension

RDB_VERSION = 11
RDB_FILE_VERSION = 10  # what Redis 7.0 writes in snapshot files (no type needs 11's)
RDB_TYPE_STRING = 0

RDB_6BITLEN = 0
RDB_14BITLEN = 1
RDB_32BITLEN = 0x80
RDB_64BITLEN = 0x81
RDB_ENCVAL = 3
RDB_ENC_INT8 = 0
RDB_ENC_INT16 = 1
RDB_ENC_INT32 = 2
RDB_ENC_LZF = 3

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
LZF_MIN_LENGTH = 21  # Redis does not try LZF on strings of 20 bytes or less


class RdbError(Exception):
    """A payload that cannot be loaded: truncated, corrupt or of an unknown type."""


# --- CRC64 (Jones polynomial, reflected, as crc64.c) ---

def _crc64_table() -> list[int]:
    poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 bit-reversed
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64 = _crc64_table()


def _crc64_bytes(data: bytes | bytearray | memoryview, crc: int) -> int:
    table = _CRC64
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


# crc64 of long inputs: the CRC is the message polynomial times x^64 modulo P over GF(2),
# reduced by folding the high half onto the low half with x^k mod P (k about half the
# length). Each fold is a carry-less product of a big int by a 64-bit constant, i.e. a few
# dozen shifts and xors that run at C speed: 25 MB in about 0.2 s against 3 s for the loop.
_POLY = (1 << 64) | 0xAD93D23594C935A9
_BIT_REVERSED = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
_FOLD_MIN = 4096  # bytes; below this the table loop is faster


def _clmul(a: int, b: int) -> int:
    product = 0
    while b:
        low = b & -b
        product ^= a << (low.bit_length() - 1)
        b ^= low
    return product


def _poly_mod(a: int) -> int:
    while a.bit_length() > 64:
        a ^= _POLY << (a.bit_length() - 65)
    return a


def _x_power(k: int) -> int:
    """x^k mod P."""
    result, base = 1, 2
    while k:
        if k & 1:
            result = _poly_mod(_clmul(result, base))
        base = _poly_mod(_clmul(base, base))
        k >>= 1
    return result


def _sparse_fold(bits: int, window: int = 256) -> tuple[int, int]:
    """A split point near half of ``bits`` whose x^k mod P has few set bits: fewer shifts."""
    k = max(bits // 2 - window, 128)
    factor = _x_power(k)
    best = (factor.bit_count(), k, factor)
    for candidate in range(k + 1, k + window):
        factor = _poly_mod(factor << 1)
        if factor.bit_count() < best[0]:
            best = (factor.bit_count(), candidate, factor)
    return best[1], best[2]


def _reflect64(value: int) -> int:
    return int(f"{value:064b}"[::-1], 2)


def _crc64_py(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """crc64.c (Jones polynomial, reflected, no final xor), continuing from ``crc``.

    Long inputs go by pieces of _PIECE bytes: a fold's cost grows faster than the length
    (at 59 MB whole took twice as long as by 2 MB pieces)."""
    if len(data) <= _PIECE:
        return _crc64_folded(data, crc)
    view = memoryview(data)
    for start in range(0, len(view), _PIECE):
        crc = _crc64_folded(view[start:start + _PIECE], crc)
    return crc


_PIECE = 1 << 21


def _crc64_folded(data: bytes | bytearray | memoryview, crc: int) -> int:
    if len(data) < _FOLD_MIN:
        return _crc64_bytes(data, crc)
    head = (int.from_bytes(bytes(data[:8]), "little") ^ crc).to_bytes(8, "little")
    message = int.from_bytes((head + bytes(data[8:])).translate(_BIT_REVERSED), "big") << 64
    while message.bit_length() > 8 * _FOLD_MIN:
        k, factor = _sparse_fold(message.bit_length())
        message = (message & ((1 << k) - 1)) ^ _clmul(message >> k, factor)
    while message.bit_length() > 256:
        k = message.bit_length() // 2
        message = (message & ((1 << k) - 1)) ^ _clmul(message >> k, _x_power(k))
    return _reflect64(_poly_mod(message))


_crc64 = extension("types._crc64")
# The same CRC eight bytes a step in C (_crc64.c), or the folds above.
crc64: Callable[..., int] = _crc64_py if _crc64 is None else _crc64.crc64
FAST_CRC64 = _crc64 is not None


# --- LZF (liblzf 3.6) ---

_LZF_MAX_LIT = 32
_LZF_MAX_OFF = 1 << 13
_LZF_MAX_REF = (1 << 8) + (1 << 3)
_LZF_MAX_RATIO = 2 + _LZF_MAX_REF  # most output bytes one input byte can stand for


def _lzf_slot(hval: int) -> int:
    return ((hval >> 8) - hval * 5) & 0xFFFF


def lzf_compress(data: bytes | bytearray, out_len: int) -> bytes | None:
    """lzf_compress: the compressed form if it fits in ``out_len`` bytes, else None."""
    in_len = len(data)
    if in_len < 3 or not out_len:
        return None
    htab = [0] * 0x10000
    out = bytearray(out_len + 4)
    op = 1
    lit = 0
    ip = 0
    hval = (data[0] << 8) | data[1]
    while ip < in_len - 2:
        hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = _lzf_slot(hval)
        ref = htab[slot]
        htab[slot] = ip
        off = ip - ref - 1
        if (0 <= off < _LZF_MAX_OFF and ref > 0 and data[ref + 2] == data[ip + 2]
                and data[ref] == data[ip] and data[ref + 1] == data[ip + 1]):
            length = 2
            maxlen = min(in_len - ip - length, _LZF_MAX_REF)
            if op + 4 >= out_len and op - (lit == 0) + 4 >= out_len:
                return None
            out[op - lit - 1] = (lit - 1) & 0xFF
            op -= lit == 0
            mismatch = False
            if maxlen > 16:
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        mismatch = True
                        break
            if not mismatch:
                length += 1
                while length < maxlen and data[ref + length] == data[ip + length]:
                    length += 1
            length -= 2
            ip += 1
            if length < 7:
                out[op] = (off >> 8) + (length << 5)
                op += 1
            else:
                out[op] = (off >> 8) + (7 << 5)
                out[op + 1] = length - 7
                op += 2
            out[op] = off & 0xFF
            op += 2  # and start a new literal run
            lit = 0
            ip += length + 1
            if ip >= in_len - 2:
                break
            ip -= 2
            hval = (data[ip] << 8) | data[ip + 1]
            for _ in range(2):
                hval = ((hval << 8) | data[ip + 2]) & 0xFFFFFFFF
                htab[_lzf_slot(hval)] = ip
                ip += 1
        else:
            if op >= out_len:
                return None
            lit += 1
            out[op] = data[ip]
            op += 1
            ip += 1
            if lit == _LZF_MAX_LIT:
                out[op - lit - 1] = lit - 1
                lit = 0
                op += 1
    if op + 3 > out_len:
        return None
    while ip < in_len:
        lit += 1
        out[op] = data[ip]
        op += 1
        ip += 1
        if lit == _LZF_MAX_LIT:
            out[op - lit - 1] = lit - 1
            lit = 0
            op += 1
    out[op - lit - 1] = (lit - 1) & 0xFF
    op -= lit == 0
    return bytes(out[:op])


def lzf_decompress(data: bytes | bytearray, out_len: int) -> bytes | None:
    """lzf_decompress with CHECK_INPUT: the output, or None on corrupt input or overflow."""
    out = bytearray()
    ip = 0
    in_len = len(data)
    while ip < in_len:
        ctrl = data[ip]
        ip += 1
        if ctrl < 32:
            ctrl += 1
            if len(out) + ctrl > out_len or ip + ctrl > in_len:
                return None
            out += data[ip:ip + ctrl]
            ip += ctrl
            continue
        length = ctrl >> 5
        ref = len(out) - ((ctrl & 0x1F) << 8) - 1
        if ip >= in_len:
            return None
        if length == 7:
            length += data[ip]
            ip += 1
            if ip >= in_len:
                return None
        ref -= data[ip]
        ip += 1
        length += 2
        if len(out) + length > out_len or ref < 0:
            return None
        distance = len(out) - ref
        if distance >= length:
            out += out[ref:ref + length]
        else:
            out += (out[ref:] * (length // distance + 1))[:length]
    return bytes(out)


def _native_lzf() -> tuple[Callable[[bytes | bytearray, int], bytes | None],
                            Callable[[bytes | bytearray, int], bytes | None]] | None:
    """liblzf itself (the library Debian's redis-server links) through ctypes, when installed.

    Snapshots compress with it: the pure-Python compressor costs ~50 us per small value,
    which would make a snapshot of a million small hashes take minutes.
    """
    import ctypes
    try:
        lib = ctypes.CDLL("liblzf.so.1")
    except OSError:
        return None
    for fn in (lib.lzf_compress, lib.lzf_decompress):
        fn.argtypes = (ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p, ctypes.c_uint)
        fn.restype = ctypes.c_uint
    buffer = ctypes.create_string_buffer(1 << 16)

    def run(fn: Any, data: bytes | bytearray, out_len: int) -> bytes | None:
        nonlocal buffer
        if out_len > len(buffer):
            buffer = ctypes.create_string_buffer(out_len)
        n = fn(bytes(data), len(data), buffer, out_len)
        return buffer.raw[:n] if n else None

    def decompress(data: bytes | bytearray, out_len: int) -> bytes | None:
        if out_len > len(data) * _LZF_MAX_RATIO:  # a corrupt length: no buffer for it
            return None
        return run(lib.lzf_decompress, data, out_len)

    return (lambda data, out_len: run(lib.lzf_compress, data, out_len), decompress)


NATIVE_LZF = _native_lzf()


# --- writing ---

class Writer:
    """An RDB byte stream being built; ``compress`` is Redis's rdbcompression."""

    __slots__ = ("buf", "compress", "lzf")

    def __init__(self, compress: bool = True,
                 lzf: Callable[[bytes | bytearray, int], bytes | None] = lzf_compress) -> None:
        self.buf = bytearray()
        self.compress = compress
        self.lzf = lzf

    def save_len(self, length: int) -> None:
        buf = self.buf
        if length < 1 << 6:
            buf.append(length | RDB_6BITLEN << 6)
        elif length < 1 << 14:
            buf += bytes((length >> 8 | RDB_14BITLEN << 6, length & 0xFF))
        elif length <= 0xFFFFFFFF:
            buf.append(RDB_32BITLEN)
            buf += length.to_bytes(4, "big")
        else:
            buf.append(RDB_64BITLEN)
            buf += length.to_bytes(8, "big")

    def save_string(self, s: bytes | bytearray) -> None:
        """rdbSaveRawString: integer encoding, else LZF when it pays, else raw."""
        n = len(s)
        buf = self.buf
        if n <= 11:
            encoded = _encode_integer(s)
            if encoded is not None:
                buf += encoded
                return
        if self.compress and n >= LZF_MIN_LENGTH:
            packed = self.lzf(s, n - 4)
            if packed is not None:
                buf.append(RDB_ENCVAL << 6 | RDB_ENC_LZF)
                self.save_len(len(packed))
                self.save_len(n)
                buf += packed
                return
        self.save_len(n)
        buf += s


def _encode_integer(s: bytes | bytearray) -> bytes | None:
    """rdbTryIntegerEncoding: only a canonical decimal that fits in 32 bits."""
    if not s or not (s[0] == 0x2D or 0x30 <= s[0] <= 0x39):
        return None
    try:
        value = int(s)
    except ValueError:
        return None
    if b"%d" % value != s or not INT32_MIN <= value <= INT32_MAX:
        return None
    if -128 <= value <= 127:
        return bytes((RDB_ENCVAL << 6 | RDB_ENC_INT8, value & 0xFF))
    if -32768 <= value <= 32767:
        return bytes((RDB_ENCVAL << 6 | RDB_ENC_INT16,)) + value.to_bytes(2, "little", signed=True)
    return bytes((RDB_ENCVAL << 6 | RDB_ENC_INT32,)) + value.to_bytes(4, "little", signed=True)


# --- reading ---

class Reader:
    """An RDB byte stream being parsed; every read past the end raises RdbError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def read(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise RdbError("unexpected end of data")
        chunk = bytes(self.data[self.pos:end])
        self.pos = end
        return chunk

    def read_byte(self) -> int:
        if self.pos >= len(self.data):
            raise RdbError("unexpected end of data")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def load_len_encoded(self) -> tuple[int, bool]:
        """rdbLoadLenByRef: (length or encoding type, is-encoded)."""
        first = self.read_byte()
        kind = (first & 0xC0) >> 6
        if kind == RDB_ENCVAL:
            return first & 0x3F, True
        if kind == RDB_6BITLEN:
            return first & 0x3F, False
        if kind == RDB_14BITLEN:
            return (first & 0x3F) << 8 | self.read_byte(), False
        if first == RDB_32BITLEN:
            return int.from_bytes(self.read(4), "big"), False
        if first == RDB_64BITLEN:
            return int.from_bytes(self.read(8), "big"), False
        raise RdbError(f"unknown length encoding {kind}")

    def load_len(self) -> int:
        length, encoded = self.load_len_encoded()
        if encoded:
            raise RdbError("encoded value where a length was expected")
        return length

    def load_string(self) -> bytes:
        """rdbGenericLoadStringObject: raw, integer-encoded or LZF-compressed."""
        length, encoded = self.load_len_encoded()
        if not encoded:
            return self.read(length)
        if length == RDB_ENC_INT8:
            return b"%d" % int.from_bytes(self.read(1), "little", signed=True)
        if length == RDB_ENC_INT16:
            return b"%d" % int.from_bytes(self.read(2), "little", signed=True)
        if length == RDB_ENC_INT32:
            return b"%d" % int.from_bytes(self.read(4), "little", signed=True)
        if length == RDB_ENC_LZF:
            packed_len = self.load_len()
            plain_len = self.load_len()
            value = _decompress(self.read(packed_len), plain_len)
            if value is None or len(value) != plain_len:
                raise RdbError("invalid LZF compressed string")
            return value
        raise RdbError(f"unknown string encoding {length}")


_decompress = NATIVE_LZF[1] if NATIVE_LZF is not None else lzf_decompress


# --- the type registries ---

Saver = Callable[[Writer, Any], None]
Loader = Callable[[Reader], Any]

SAVERS: dict[type, tuple[int, Saver]] = {}  # filled by registry.register
LOADERS: dict[int, Loader] = {}
FILE_LOADERS: dict[int, Callable[[bytes, bytes], Any]] = {}  # (key, a file's value string)


def save_object(w: Writer, value: Any) -> None:
    """rdbSaveObjectType + rdbSaveObject."""
    type_byte, saver = SAVERS[value.__class__]
    w.buf.append(type_byte)
    saver(w, value)


def load_object(r: Reader) -> Any:
    """rdbLoadObjectType + rdbLoadObject."""
    loader = LOADERS.get(r.read_byte())
    if loader is None:
        raise RdbError("unknown object type")
    return loader(r)


# --- DUMP payloads ---

def dump_payload(value: Any, compress: bool = True, version: int = RDB_VERSION) -> bytes:
    """createDumpPayload: object, 2-byte RDB version, CRC64 of all that, little endian."""
    w = Writer(compress)
    save_object(w, value)
    w.buf += version.to_bytes(2, "little")
    w.buf += crc64(w.buf).to_bytes(8, "little")
    return bytes(w.buf)


def verify_payload(payload: bytes) -> bool:
    """verifyDumpPayload: a version not newer than ours and the right CRC64."""
    if len(payload) < 10:
        return False
    if int.from_bytes(payload[-10:-8], "little") > RDB_VERSION:
        return False
    return int.from_bytes(payload[-8:], "little") == crc64(memoryview(payload)[:-8])


def load_payload(payload: bytes) -> Any:
    """The value in a verified payload (trailing bytes before the footer are ignored, as in Redis)."""
    return load_object(Reader(payload))
