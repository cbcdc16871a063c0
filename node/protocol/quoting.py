"""Redis's ``sdscatrepr``: bytes shown double-quoted and escaped, as MONITOR and the log do."""

from __future__ import annotations

_REPR_BYTE = [
    b"\\x%02x" % i if not 32 <= i < 127 else bytes([i]) for i in range(256)
]
for _byte, _escaped in ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"),
                        (b"\t", b"\\t"), (b"\a", b"\\a"), (b"\b", b"\\b")):
    _REPR_BYTE[_byte[0]] = _escaped


def repr_arg(arg: bytes) -> bytes:
    """sdscatrepr: a double-quoted, escaped rendering of one argument."""
    if arg.isalnum():
        return b'"%s"' % arg
    return b'"%s"' % b"".join(map(_REPR_BYTE.__getitem__, arg))
