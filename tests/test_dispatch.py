"""The dispatch switch: REDSLOT_FAST_DISPATCH=0 sends every request through the full checks.

That both paths answer alike is the random differential tests' job (they run both ways);
these tests show that the switch reaches dispatch and that it takes the short loop away.
"""

from __future__ import annotations

import pytest
from redslot.node.config.directives import Config
from redslot.node.server import dispatch
from redslot.node.server.client import Client
from redslot.node.server.main import fast_dispatch_wanted
from redslot.node.server.server import Server

REQUESTS = [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"INCR", b"n"]]


def requests_through_execute(monkeypatch: pytest.MonkeyPatch, server: Server) -> list[bytes]:
    """Run REQUESTS as one batch; return the names of those that went through execute."""
    seen: list[bytes] = []
    full_path = dispatch.execute

    def counting(server: Server, client: Client, argv: list[bytes]) -> None:
        seen.append(argv[0])
        full_path(server, client, argv)

    monkeypatch.setattr(dispatch, "execute", counting)
    client = Client(server)
    assert dispatch.run_requests(server, client, REQUESTS) == len(REQUESTS)
    assert b"".join(client.out) == b"+OK\r\n$1\r\nv\r\n:1\r\n"
    return seen


def test_data_commands_take_the_short_loop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert requests_through_execute(monkeypatch, Server(Config())) == []


def test_with_fast_dispatch_off_every_request_goes_through_execute(
        monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(Config(), fast_dispatch=False)
    assert requests_through_execute(monkeypatch, server) == [b"SET", b"GET", b"INCR"]


@pytest.mark.parametrize(("environ", "wanted"), [
    ({}, True), ({"REDSLOT_FAST_DISPATCH": "1"}, True), ({"REDSLOT_FAST_DISPATCH": "0"}, False),
])
def test_the_environment_turns_the_short_loop_off_with_0(environ: dict[str, str],
                                                          wanted: bool) -> None:
    assert fast_dispatch_wanted(environ) is wanted
