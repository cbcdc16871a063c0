"""Geo searches (geo.c georadiusGeneric): GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
GEORADIUSBYMEMBER and their _RO forms, one parser for all as in Redis.

A search scans the score ranges of up to nine geohash boxes around the centre (the
centre box and its neighbours, sized to the radius: types/geohash.search_boxes), keeps
the members inside the shape, sorts them by distance as Redis's qsort/pqsort order them
(types/geosort.py) and replies or stores them. Arguments are checked in Redis's order, so
the first error a malformed request meets is Redis's first error too.

GEORADIUS ... STORE and GEOSEARCHSTORE are deterministic given the data: they are
propagated as sent, as Redis does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..base import errors
from ..base.errors import CommandError
from ..keyspace.notify import NOTIFY_GENERIC, NOTIFY_ZSET
from ..table.command import command
from ..types.geohash import (
    Shape,
    box_scores,
    format_distance,
    position,
    search_boxes,
    to_int64,
)
from ..types.geosort import sort_points
from ..types.zset import ZSet
from .args import to_int
from .geo import coordinates, parse_lonlat, parse_unit, to_double
from .zsets import limits, read_zset

if TYPE_CHECKING:
    from .context import Client

RADIUS_COORDS = 1
RADIUS_MEMBER = 2
RADIUS_NOSTORE = 4
GEOSEARCH = 8
GEOSEARCHSTORE = 16

SORT_NONE = 0
SORT_ASC = 1
SORT_DESC = 2

# A match: (distance in meters, longitude, latitude, score, member).
Point = tuple[float, float, float, float, bytes]


def _member_position(z: ZSet, member: bytes) -> tuple[float, float]:
    score = z.scores.get(member)
    if score is None:
        raise CommandError(errors.GEO_MEMBER)
    return position(score)


def _radius(shape: Shape, radius: bytes, unit: bytes) -> None:
    """extractDistanceOrReply."""
    value = to_double(radius, errors.GEO_RADIUS)
    if value < 0:
        raise CommandError(errors.GEO_RADIUS_NEGATIVE)
    shape.radius = value
    shape.conversion = parse_unit(unit)
    shape.box = False


def _box(shape: Shape, width: bytes, height: bytes, unit: bytes) -> None:
    """extractBoxOrReply."""
    w = to_double(width, errors.GEO_WIDTH)
    h = to_double(height, errors.GEO_HEIGHT)
    if h < 0 or w < 0:
        raise CommandError(errors.GEO_BOX_NEGATIVE)
    shape.width = w
    shape.height = h
    shape.conversion = parse_unit(unit)
    shape.box = True


def _points_in_box(z: ZSet, box: tuple[int, int], shape: Shape, points: list[Point],
                   limit: int) -> None:
    """geoGetPointsInRange over one box's scores [min, max)."""
    low, high = box_scores(box)
    order = z.order
    start = order.bisect_left((float(low),))
    stop = order.bisect_left((float(high),))
    shape.scan(order[start:stop], points, limit)


def _search(z: ZSet, shape: Shape, limit: int) -> list[Point]:
    """membersOfAllNeighbors: the boxes in order, a box equal to the one scanned just
    before skipped (not one equal to the centre: Redis compares from the second on)."""
    boxes = search_boxes(shape)
    points: list[Point] = []
    last = 0
    for i, box in enumerate(boxes):
        if box == (0, 0):
            continue
        if last and box == boxes[last]:
            continue
        if points and limit and len(points) >= limit:
            break
        _points_in_box(z, box, shape, points, limit)
        last = i
    return points


def _store_empty(c: Client, storekey: bytes) -> int:
    """dbDelete of the destination (live or not), "del" if there was one."""
    if c.db.delete_stored(storekey):
        c.db.notify(NOTIFY_GENERIC, "del", storekey)
    return 0


def search_generic(c: Client, argv: list[bytes], src: int, flags: int) -> Any:
    """georadiusGeneric: ``src`` is the source key's index, ``flags`` the variant."""
    storekey: bytes | None = None
    storedist = False
    z = read_zset(c, argv[src])
    shape = Shape()
    if flags & RADIUS_COORDS:
        base = 6
        shape.lon, shape.lat = parse_lonlat(argv[2], argv[3])
        _radius(shape, argv[4], argv[5])
    elif flags & RADIUS_MEMBER:
        base = 5
        if z is not None:
            shape.lon, shape.lat = _member_position(z, argv[2])
            _radius(shape, argv[3], argv[4])
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    search = bool(flags & GEOSEARCH)
    can_store = not flags & RADIUS_NOSTORE and not search
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        j = base + i
        arg = argv[j].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            count = to_int(argv[j + 1])
            if count <= 0:
                raise CommandError(errors.GEO_COUNT)
            i += 1
        elif arg in (b"store", b"storedist") and i + 1 < remaining and can_store:
            storekey = argv[j + 1]
            storedist = arg == b"storedist"
            i += 1
        elif arg == b"storedist" and search and flags & GEOSEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and search and not fromloc:
            if z is not None:
                shape.lon, shape.lat = _member_position(z, argv[j + 1])
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and search and not frommember:
            shape.lon, shape.lat = parse_lonlat(argv[j + 1], argv[j + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and search and not bybox:
            _radius(shape, argv[j + 1], argv[j + 2])
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and search and not byradius:
            _box(shape, argv[j + 1], argv[j + 2], argv[j + 3])
            bybox = True
            i += 3
        else:
            raise CommandError(errors.SYNTAX)
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        raise CommandError(errors.GEO_STORE_OPTIONS % (
            "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"))
    name = argv[0].decode("utf-8", "surrogateescape")
    if search and not (frommember or fromloc):
        raise CommandError(errors.GEO_FROM % name)
    if search and not (byradius or bybox):
        raise CommandError(errors.GEO_BY % name)
    if any_ and not count:
        raise CommandError(errors.GEO_ANY)

    if z is None:
        return [] if storekey is None else _store_empty(c, storekey)
    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC
    points = _search(z, shape, count if any_ else 0)
    if not points and storekey is None:
        return []
    returned = len(points) if not count or len(points) < count else count
    if sort != SORT_NONE:
        points = sort_points(points, sort == SORT_DESC, returned)
    conversion = shape.conversion
    if storekey is None:
        if not (withdist or withhash or withcoords):
            return [p[4] for p in points[:returned]]
        return [_reply_item(p, conversion, withdist, withhash, withcoords)
                for p in points[:returned]]
    if not returned:
        return _store_empty(c, storekey)
    scores = {p[4]: p[0] / conversion if storedist else p[3] for p in points[:returned]}
    c.db.lookup_write(storekey)  # setKey: an expired destination goes first
    c.db.set(storekey, ZSet.from_scores(scores, *limits(c)))
    c.db.stats.dirty += returned - 1  # server.dirty += returned_items
    c.db.notify(NOTIFY_ZSET, "geosearchstore" if search else "georadiusstore", storekey)
    return returned


def _reply_item(point: Point, conversion: float, withdist: bool, withhash: bool,
                withcoords: bool) -> Any:
    dist, lon, lat, score, member = point
    item: list[Any] = [member]
    if withdist:
        item.append(format_distance(dist / conversion))
    if withhash:
        item.append(to_int64(score))
    if withcoords:
        item.append(coordinates(lon, lat))
    return item


@command("georadius")
def georadius(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 1, RADIUS_COORDS)


@command("georadiusbymember")
def georadiusbymember(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 1, RADIUS_MEMBER)


@command("georadius_ro")
def georadius_ro(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember_ro")
def georadiusbymember_ro(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch")
def geosearch(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 1, GEOSEARCH)


@command("geosearchstore")
def geosearchstore(c: Client, argv: list[bytes]) -> Any:
    return search_generic(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
