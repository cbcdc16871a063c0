"""Geo commands on sorted sets (geo.c): GEOADD, GEOPOS, GEODIST, GEOHASH.

A geo index is a plain zset whose scores are 52-bit geohashes (types/geohash.py), so
every zset command works on it and it persists, dumps and replicates as a zset. GEOADD is
ZADD underneath, as in Redis: it turns each coordinate pair into a score and runs ZADD,
and is propagated as that ZADD. The searches are in geo_search.py.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..protocol.reply import NULL_ARRAY, register_encoder
from ..table.command import command
from ..types.geohash import (
    LAT_MAX,
    LAT_MIN,
    LONG_MAX,
    LONG_MIN,
    distance,
    format_coordinate,
    format_distance,
    position,
    score_of,
    standard_geohash,
)
from .zsets import parse_score, read_zset, zadd_generic

if TYPE_CHECKING:
    from .context import Client


class Coordinate(bytes):
    """A coordinate as addReplyHumanLongDouble sends it: a bulk string in RESP2, a RESP3
    double (the same digits) in RESP3."""

    __slots__ = ()


def _coordinate(out: list[bytes], v: Coordinate, resp3: bool) -> None:
    if resp3:
        out.append(b",%s\r\n" % v)
    else:
        out.append(b"$%d\r\n%s\r\n" % (len(v), v))


register_encoder(Coordinate, _coordinate)


def coordinates(lon: float, lat: float) -> list[Coordinate]:
    return [Coordinate(format_coordinate(lon)), Coordinate(format_coordinate(lat))]


_PLAIN_DECIMAL = re.compile(rb"-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,2})?")


def to_double(arg: bytes, message: str = errors.NOT_FLOAT) -> float:
    """getDoubleFromObjectOrReply: strtod's whole argument, no NaN, no overflow.

    A plain decimal (how coordinates are written; at most 20 + 20 digits and a two-digit
    exponent) cannot over- or underflow, and float() rounds it as strtod does: it skips
    the general parser."""
    if _PLAIN_DECIMAL.fullmatch(arg):
        return float(arg)
    value = parse_score(arg)
    if value is None:
        raise CommandError(message)
    return value


def parse_lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """extractLongLatOrReply: two doubles within the indexable ranges."""
    lon = to_double(lon_arg)
    lat = to_double(lat_arg)
    if lon < LONG_MIN or lon > LONG_MAX or lat < LAT_MIN or lat > LAT_MAX:
        raise CommandError(errors.GEO_LONLAT % (lon, lat))
    return lon, lat


_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}


def parse_unit(arg: bytes) -> float:
    """extractUnitOrReply: the unit's size in meters."""
    unit = _UNITS.get(arg.lower())
    if unit is None:
        raise CommandError(errors.GEO_UNIT)
    return unit


@command("geoadd")
def geoadd(c: Client, argv: list[bytes]) -> Any:
    argc = len(argv)
    longidx = 2
    nx = xx = False
    while longidx < argc:
        option = argv[longidx].lower()
        if option == b"nx":
            nx = True
        elif option == b"xx":
            xx = True
        elif option != b"ch":
            break
        longidx += 1
    if (argc - longidx) % 3 or (xx and nx):
        raise CommandError(errors.SYNTAX)
    zargv = [b"zadd", *argv[1:longidx]]
    scores = []
    for i in range(longidx, argc, 3):
        lon, lat = parse_lonlat(argv[i], argv[i + 1])
        score = score_of(lon, lat)
        scores.append(float(score))
        zargv.append(b"%d" % score)
        zargv.append(argv[i + 2])
    c.rewrite(zargv)
    return zadd_generic(c, zargv, False, scores)


@command("geopos")
def geopos(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    scores = {} if z is None else z.scores
    out: list[Any] = []
    for member in argv[2:]:
        score = scores.get(member)
        out.append(NULL_ARRAY if score is None else coordinates(*position(score)))
    return out


@command("geohash")
def geohash(c: Client, argv: list[bytes]) -> Any:
    z = read_zset(c, argv[1])
    scores = {} if z is None else z.scores
    out: list[Any] = []
    for member in argv[2:]:
        score = scores.get(member)
        out.append(None if score is None else standard_geohash(score))
    return out


@command("geodist")
def geodist(c: Client, argv: list[bytes]) -> Any:
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = parse_unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(errors.SYNTAX)
    z = read_zset(c, argv[1])
    if z is None:
        return None
    score1 = z.scores.get(argv[2])
    score2 = z.scores.get(argv[3])
    if score1 is None or score2 is None:
        return None
    lon1, lat1 = position(score1)
    lon2, lat2 = position(score2)
    return format_distance(distance(lon1, lat1, lon2, lat2) / to_meter)
