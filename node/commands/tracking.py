"""CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (networking.c clientCommand, tracking.c).

Options are checked in Redis's order, so the first problem named is the one Redis names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import OK, SetReply
from ..pubsub.tracking import overlap
from ..table.command import command
from .args import arg_text, to_int

if TYPE_CHECKING:
    from .context import Client


@command("client|tracking")
def client_tracking(c: Client, argv: list[bytes]) -> Any:
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    while j < len(argv):
        opt = argv[j].lower()
        more = j + 1 < len(argv)
        if opt == b"redirect" and more:
            j += 1
            if redirect:
                raise CommandError(errors.TRACKING_ONE_REDIRECT)
            redirect = to_int(argv[j])
            if redirect not in c.server.clients:
                raise CommandError(errors.TRACKING_NO_SUCH_CLIENT)
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    mode = argv[2].lower()
    tracker = c.server.tracker
    if mode == b"on":
        state = c.tracking
        if not bcast and prefixes:
            raise CommandError(errors.TRACKING_PREFIX_NEEDS_BCAST)
        if state is not None and state.bcast != bcast:
            raise CommandError(errors.TRACKING_BCAST_SWITCH)
        if bcast and (optin or optout):
            raise CommandError(errors.TRACKING_OPT_WITH_BCAST)
        if optin and optout:
            raise CommandError(errors.TRACKING_OPTIN_AND_OPTOUT)
        if state is not None and ((optin and state.optout) or (optout and state.optin)):
            raise CommandError(errors.TRACKING_OPT_SWITCH)
        if bcast:
            _check_prefixes(c, prefixes)
        tracker.enable(c, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        tracker.disable(c)
    else:
        raise CommandError(errors.SYNTAX)
    return OK


def _check_prefixes(c: Client, prefixes: list[bytes]) -> None:
    """checkPrefixCollisionsOrReply."""
    existing = list(c.tracking.prefixes) if c.tracking is not None else []
    for i, prefix in enumerate(prefixes):
        for other in existing:
            if overlap(other, prefix):
                raise CommandError(errors.TRACKING_PREFIX_OVERLAPS_EXISTING % (
                    arg_text(prefix), arg_text(other)))
        for other in prefixes[i + 1:]:
            if overlap(prefix, other):
                raise CommandError(errors.TRACKING_PREFIX_OVERLAPS_PROVIDED % (
                    arg_text(prefix), arg_text(other)))


@command("client|caching")
def client_caching(c: Client, argv: list[bytes]) -> Any:
    state = c.tracking
    if state is None:
        raise CommandError(errors.CACHING_NOT_TRACKING)
    opt = argv[2].lower()
    if opt == b"yes":
        if not state.optin:
            raise CommandError(errors.CACHING_YES_NOT_OPTIN)
    elif opt == b"no":
        if not state.optout:
            raise CommandError(errors.CACHING_NO_NOT_OPTOUT)
    else:
        raise CommandError(errors.SYNTAX)
    state.caching = True
    return OK


@command("client|getredir")
def client_getredir(c: Client, argv: list[bytes]) -> Any:
    return c.tracking.redirect if c.tracking is not None else -1


@command("client|trackinginfo")
def client_trackinginfo(c: Client, argv: list[bytes]) -> Any:
    state = c.tracking
    flags = [b"on" if state is not None else b"off"]
    if state is not None:
        if state.bcast:
            flags.append(b"bcast")
        if state.optin:
            flags += [b"optin"] + ([b"caching-yes"] if state.caching else [])
        if state.optout:
            flags += [b"optout"] + ([b"caching-no"] if state.caching else [])
        if state.noloop:
            flags.append(b"noloop")
        if state.broken:
            flags.append(b"broken_redirect")
    return {
        b"flags": SetReply(flags),
        b"redirect": state.redirect if state is not None else -1,
        b"prefixes": sorted(state.prefixes) if state is not None else [],
    }
