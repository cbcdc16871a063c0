"""atheris (libFuzzer) target for the request parser: run as a script, libFuzzer's flags.

For any input it checks that the parser never raises, that feeding it whole (a C path
for canonical requests: _resp.c, or hiredis without it) and in fuzzer-chosen pieces (state
kept between feeds) give the same requests and the same error, and that ``split_args``
agrees with a line-by-line transliteration of Redis's C ``sdssplitargs``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from redslot.node.protocol.request import RequestParser
    from redslot.node.protocol.splitargs import split_args

_BLANK = b" \t\n\v\f\r"


def sdssplitargs(line: bytes) -> list[bytes] | None:
    """sds.c's sdssplitargs over a C string: ``at(i)`` is 0 past the end, as the NUL is."""
    def at(i: int) -> int:
        return line[i] if i < len(line) else 0

    def is_hex(c: int) -> bool:
        return chr(c) in "0123456789abcdefABCDEF" if c else False

    args: list[bytes] = []
    p = 0
    while True:
        while at(p) and at(p) in _BLANK:
            p += 1
        if not at(p):
            return args
        inq = insq = done = False
        current = bytearray()
        while not done:
            c = at(p)
            if inq:
                if c == 92 and at(p + 1) == 120 and is_hex(at(p + 2)) and is_hex(at(p + 3)):
                    current.append(int(bytes([at(p + 2), at(p + 3)]), 16))
                    p += 3
                elif c == 92 and at(p + 1):
                    p += 1
                    current.append({110: 10, 114: 13, 116: 9, 98: 8, 97: 7}.get(at(p), at(p)))
                elif c == 34:
                    if at(p + 1) and at(p + 1) not in _BLANK:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    current.append(c)
            elif insq:
                if c == 92 and at(p + 1) == 39:
                    p += 1
                    current.append(39)
                elif c == 39:
                    if at(p + 1) and at(p + 1) not in _BLANK:
                        return None
                    done = True
                elif not c:
                    return None
                else:
                    current.append(c)
            elif c in (32, 10, 13, 9, 0):
                done = True
            elif c == 34:
                inq = True
            elif c == 39:
                insq = True
            else:
                current.append(c)
            if at(p):
                p += 1
        args.append(bytes(current))


def run(pieces: list[bytes], auth_required: bool) -> tuple[list[list[bytes]], str | None, int]:
    parser = RequestParser(max_bulk_len=4096)
    parser.auth_required = auth_required
    requests: list[list[bytes]] = []
    for piece in pieces:
        requests.extend(parser.feed(piece))
        while parser.deferred:  # as the client does once the requests before have run
            requests.extend(parser.feed(b""))
    for argv in requests:
        assert argv and all(type(arg) is bytes for arg in argv), argv
    return requests, parser.error, parser.buffered


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    auth_required = fdp.ConsumeBool()
    cuts = sorted(fdp.ConsumeIntInRange(0, 255) for _ in range(fdp.ConsumeIntInRange(0, 6)))
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    whole = run([body], auth_required)
    edges = [0, *(min(c, len(body)) for c in cuts), len(body)]
    pieces = [body[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    in_pieces = run([body[:1], body[1:]] if len(pieces) == 1 else pieces, auth_required)
    assert whole[:2] == in_pieces[:2], (body, whole, in_pieces)
    line = body.split(b"\n", 1)[0]
    assert split_args(line) == sdssplitargs(line), line


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
