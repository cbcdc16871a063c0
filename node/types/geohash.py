"""Redis's geohash arithmetic (geohash.c, geohash_helper.c), float for float.

A geo member is a sorted set member whose score is a 52-bit geohash: 26 bits of longitude
and 26 of latitude, interleaved (latitude in the even bits). Latitudes are limited to
+-85.05112878 (the Web Mercator square), so the grid is not the standard geohash one; the
GEOHASH command re-encodes on the standard -90..90 grid.

Every formula keeps the C source's operation order and constants: coordinates are printed
to 17 digits and distances to 4 decimals, and both must equal redis-server's, so a
rearranged expression that rounds differently in the last bit is a visible difference.
Python's ``math`` calls the same libm; where C would yield NaN or an infinity quietly
(asin past 1, cos of infinity, division by zero), the helpers here do too.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

STEP_MAX = 26
LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
_DIAMETER = 2.0 * EARTH_RADIUS_IN_METERS

_MASK64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_TWO63 = 9223372036854775808.0
_INDEFINITE = 1 << 63  # what cvttsd2si yields for a double out of int64 range

# A geohash box: (bits, step); step 0 marks a box removed from the search (GZERO).
Box = tuple[int, int]
# A decoded box: (lon_min, lon_max, lat_min, lat_max).
Area = tuple[float, float, float, float]


def _cos(x: float) -> float:
    return math.cos(x) if math.isfinite(x) else math.nan


def _asin(x: float) -> float:
    return math.asin(x) if -1.0 <= x <= 1.0 else math.nan


def _sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0.0 else math.nan


def _div(a: float, b: float) -> float:
    """IEEE division: x/0 is a signed infinity (NaN for 0/0), as C computes it."""
    if b:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.inf if (a > 0) == (math.copysign(1.0, b) > 0) else -math.inf


def to_uint64(score: float) -> int:
    """``(uint64_t)score`` as gcc compiles it on x86-64: a negative double wraps as the
    int64 it truncates to, values past the int64 range give 2**63 (0 above 2**64)."""
    if score < _TWO63:
        if score < -_TWO63:
            return _INDEFINITE
        return int(score) & _MASK64
    high = score - _TWO63
    if high >= _TWO63:
        return 0
    return int(high) ^ _INDEFINITE


def to_int64(score: float) -> int:
    """``(long long)score`` (cvttsd2si): the WITHHASH reply of a score."""
    if -_TWO63 <= score < _TWO63:
        return int(score)
    return -(1 << 63)


# --- bit interleaving ---

def _spread16() -> array:
    """For every 16-bit value: its bits moved to the even positions of 32 bits."""
    low = [0] * 256
    for i in range(256):
        for b in range(8):
            low[i] |= ((i >> b) & 1) << (2 * b)
    return array("Q", [low[i & 255] | (low[i >> 8] << 16) for i in range(65536)])


_SPREAD = _spread16()


def interleave64(xlo: int, ylo: int) -> int:
    """The bits of x in the even positions, y in the odd ones (low 32 bits of each)."""
    spread = _SPREAD
    x = spread[xlo & 0xFFFF] | (spread[(xlo >> 16) & 0xFFFF] << 32)
    y = spread[ylo & 0xFFFF] | (spread[(ylo >> 16) & 0xFFFF] << 32)
    return x | (y << 1)


def _split16() -> array:
    """For every 16 interleaved bits: their even bits (8) low, their odd bits from bit 32."""
    low = [0] * 256
    for i in range(256):
        even = odd = 0
        for b in range(4):
            even |= ((i >> (2 * b)) & 1) << b
            odd |= ((i >> (2 * b + 1)) & 1) << b
        low[i] = even | (odd << 32)
    return array("Q", [low[i & 255] | (low[i >> 8] << 4) for i in range(65536)])


_SPLIT = _split16()


def deinterleave64(interleaved: int) -> int:
    """The inverse: even bits in the low 32, odd bits in the high 32 (of 64 bits)."""
    split = _SPLIT
    v = interleaved
    return (split[v & 0xFFFF] | (split[(v >> 16) & 0xFFFF] << 8)
            | (split[(v >> 32) & 0xFFFF] << 16) | (split[(v >> 48) & 0xFFFF] << 24))


# --- encoding and decoding ---

def encode(longitude: float, latitude: float, step: int,
           lat_min: float = LAT_MIN, lat_max: float = LAT_MAX) -> int | None:
    """geohashEncode on the longitude range -180..180: the box bits, None outside."""
    if (longitude > LONG_MAX or longitude < LONG_MIN
            or latitude > LAT_MAX or latitude < LAT_MIN):
        return None
    if latitude < lat_min or latitude > lat_max:
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - LONG_MIN) / (LONG_MAX - LONG_MIN)
    scale = float(1 << step)
    return interleave64(int(lat_offset * scale), int(long_offset * scale))


def score_of(longitude: float, latitude: float) -> int:
    """The 52-bit score GEOADD stores for a valid coordinate pair."""
    return encode(longitude, latitude, STEP_MAX) or 0


def decode(bits: int, step: int) -> Area:
    """geohashDecode: the box's longitude and latitude bounds."""
    sep = deinterleave64(bits)
    ilato = sep & 0xFFFFFFFF
    ilono = sep >> 32
    scale = float(1 << step)
    lat_scale = LAT_MAX - LAT_MIN
    long_scale = LONG_MAX - LONG_MIN
    return (LONG_MIN + (ilono * 1.0 / scale) * long_scale,
            LONG_MIN + (((ilono + 1) & 0xFFFFFFFF) * 1.0 / scale) * long_scale,
            LAT_MIN + (ilato * 1.0 / scale) * lat_scale,
            LAT_MIN + (((ilato + 1) & 0xFFFFFFFF) * 1.0 / scale) * lat_scale)


_POSITIONS: dict[float, tuple[float, float, float, float, float]] = {}
_POSITIONS_MAX = 16384
"""Decoded positions by score, with the radians and cosine the distance needs: a pure
function's results, dropped wholesale when full (at most about 4 MB)."""


def position(score: float) -> tuple[float, float]:
    """decodeGeohash: the (longitude, latitude) a score stands for, the centre of its
    26-step box clamped to the valid ranges. Any score decodes (see to_uint64)."""
    lon_min, lon_max, lat_min, lat_max = decode(to_uint64(score), STEP_MAX)
    lon = (lon_min + lon_max) / 2
    lon = LONG_MAX if lon > LONG_MAX else LONG_MIN if lon < LONG_MIN else lon
    lat = (lat_min + lat_max) / 2
    lat = LAT_MAX if lat > LAT_MAX else LAT_MIN if lat < LAT_MIN else lat
    return lon, lat


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def standard_geohash(score: float) -> bytes:
    """The GEOHASH command's 11 characters: the position re-encoded on the -90..90 grid,
    ten base-32 digits of its 52 bits and a final '0'."""
    lon, lat = position(score)
    bits = encode(lon, lat, STEP_MAX, -90.0, 90.0) or 0
    return bytes(_ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F] for i in range(10)) + b"0"


# --- distances ---

def lat_distance(lat1: float, lat2: float) -> float:
    """geohashGetLatDistance."""
    return EARTH_RADIUS_IN_METERS * abs(lat2 * D_R - lat1 * D_R)


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """geohashGetDistance: haversine on a sphere of Redis's radius, in meters."""
    lon1r = lon1 * D_R
    lon2r = lon2 * D_R
    v = math.sin((lon2r - lon1r) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r = lat1 * D_R
    lat2r = lat2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    return 2.0 * EARTH_RADIUS_IN_METERS * _asin(_sqrt(a))


# --- number formatting ---

def format_distance(d: float) -> bytes:
    """fixedpoint_d2string with 4 decimals (llrint of d * 10000, so half-even)."""
    if d == 0:
        return b"0.0000"
    scaled = d * 10000.0
    value = int(round(scaled)) if math.isfinite(scaled) and abs(scaled) < _TWO63 else -(1 << 63)
    sign = b"-" if value < 0 else b""
    digits = b"%d" % abs(value)
    if len(digits) < 5:
        digits = digits.rjust(5, b"0")
    return sign + digits[:-4] + b"." + digits[-4:]


def format_coordinate(value: float) -> bytes:
    """ld2string's LD_STR_HUMAN for a double: ``%.17Lf`` without trailing zeros, "-0"
    printed as "0"."""
    if math.isinf(value):
        return b"inf" if value > 0 else b"-inf"
    text = b"%.17f" % value
    text = text.rstrip(b"0").rstrip(b".") if b"." in text else text
    return b"0" if text == b"-0" else text


# --- search areas ---

class Shape:
    """A search shape (GeoShape): a centre, and a radius or a width x height box, in the
    query's unit; ``conversion`` turns that unit into meters."""

    __slots__ = ("lon", "lat", "radius", "width", "height", "conversion", "box")

    def __init__(self) -> None:
        self.lon = self.lat = 0.0
        self.radius = self.width = self.height = 0.0
        self.conversion = 1.0
        self.box = False

    def scan(self, items: list[tuple[float, bytes]], points: list[Any], limit: int) -> None:
        """geoGetPointsInRange's loop over one box's (score, member) items: append
        (distance, lon, lat, score, member) for those inside, stop at ``limit`` points.

        This loop is where a search spends its time: the rectangle test and
        geohashGetDistance are inlined (same operations in the same order), and decoded
        positions are memoized per score with their radians and cosine (``_POSITIONS``),
        since a search usually scans the same hot members as the one before it."""
        box = self.box
        sin, cos, asin, sqrt = math.sin, math.cos, math.asin, math.sqrt
        lon1r = self.lon * D_R
        lat1r = self.lat * D_R
        cos1 = cos(lat1r)
        radius = self.radius * self.conversion
        half_w = self.width * self.conversion / 2
        half_h = self.height * self.conversion / 2
        cache = _POSITIONS
        for score, member in items:
            known = cache.get(score)
            if known is None:
                if len(cache) >= _POSITIONS_MAX:
                    cache.clear()
                lon, lat = position(score)
                known = cache[score] = (lon, lat, lon * D_R, lat * D_R, cos(lat * D_R))
            lon, lat, lon2r, lat2r, cos2 = known
            if box:
                # geohashGetDistanceIfInRectangle: latitude gap, then the longitude gap
                # along the point's parallel, then the distance from the centre.
                if EARTH_RADIUS_IN_METERS * abs(lat1r - lat2r) > half_h:
                    continue
                # (Both ends at one latitude: the haversine's u is 0, and with h == 0 the
                # gap is 0, never past half the width.)
                h = sin((lon1r - lon2r) / 2)
                if h != 0.0:
                    try:
                        gap = _DIAMETER * asin(sqrt(cos2 * cos2 * h * h))
                    except ValueError:
                        gap = math.nan
                    if gap > half_w:
                        continue
            h = sin((lon2r - lon1r) / 2)
            if h == 0.0:
                d = EARTH_RADIUS_IN_METERS * abs(lat2r - lat1r)
            else:
                u = sin((lat2r - lat1r) / 2)
                try:
                    d = _DIAMETER * asin(sqrt(u * u + cos1 * cos2 * h * h))
                except ValueError:
                    d = math.nan
            if box or not d > radius:
                points.append((d, lon, lat, score, member))
                if limit and len(points) >= limit:
                    return

    def bounds(self) -> tuple[float, float, float, float]:
        """geohashBoundingBox: (min_lon, min_lat, max_lon, max_lat)."""
        lon, lat = self.lon, self.lat
        if self.box:
            height = self.conversion * (self.height / 2)
            width = self.conversion * (self.width / 2)
        else:
            height = width = self.conversion * self.radius
        lat_delta = height / EARTH_RADIUS_IN_METERS / D_R
        top = _div(width / EARTH_RADIUS_IN_METERS, _cos((lat + lat_delta) * D_R)) / D_R
        bottom = _div(width / EARTH_RADIUS_IN_METERS, _cos((lat - lat_delta) * D_R)) / D_R
        delta = bottom if lat < 0 else top
        return lon - delta, lat - lat_delta, lon + delta, lat + lat_delta

    def radius_meters(self) -> float:
        if not self.box:
            return self.radius * self.conversion
        half_w, half_h = self.width / 2, self.height / 2
        return _sqrt(half_w * half_w + half_h * half_h) * self.conversion


def estimate_steps(range_meters: float, lat: float) -> int:
    """geohashEstimateStepsByRadius: the coarsest step whose boxes still hold the range."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    return min(max(step, 1), 26)


def _move_x(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    x = x + (zz + 1) if d > 0 else (x | zz) - (zz + 1)
    return (x & (_ODD >> (64 - step * 2))) | y


def _move_y(bits: int, step: int, d: int) -> int:
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    y = y + (zz + 1) if d > 0 else (y | zz) - (zz + 1)
    return x | (y & (_EVEN >> (64 - step * 2)))


def search_boxes(shape: Shape) -> list[Box]:
    """geohashCalculateAreasByShapeWGS84, in membersOfAllNeighbors's order: the centre
    box, then north, south, east, west, north-east, north-west, south-east, south-west;
    a neighbour wholly outside the bounding box has step 0 (skipped)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    steps = estimate_steps(shape.radius_meters(), shape.lat)
    boxes = _boxes(shape, steps)
    _, north, south, east, west = (decode(bits, steps) for bits, _ in boxes[:5])
    if steps > 1 and (north[3] < max_lat or south[2] > min_lat
                      or east[1] < max_lon or west[0] > min_lon):
        steps -= 1
        boxes = _boxes(shape, steps)
    if steps >= 2:
        lon_lo, lon_hi, lat_lo, lat_hi = decode(boxes[0][0], steps)
        dropped: set[int] = set()
        if lat_lo < min_lat:
            dropped.update((2, 7, 8))
        if lat_hi > max_lat:
            dropped.update((1, 5, 6))
        if lon_lo < min_lon:
            dropped.update((4, 8, 6))
        if lon_hi > max_lon:
            dropped.update((3, 7, 5))
        boxes = [(0, 0) if i in dropped else box for i, box in enumerate(boxes)]
    return boxes


def _boxes(shape: Shape, steps: int) -> list[Box]:
    bits = encode(shape.lon, shape.lat, steps) or 0
    east, west = _move_x(bits, steps, 1), _move_x(bits, steps, -1)
    return [(b, steps) for b in (
        bits, _move_y(bits, steps, 1), _move_y(bits, steps, -1), east, west,
        _move_y(east, steps, 1), _move_y(west, steps, 1),
        _move_y(east, steps, -1), _move_y(west, steps, -1))]


def box_scores(box: Box) -> tuple[int, int]:
    """scoresOfGeoHashBox: the score range [min, max) of the members inside a box."""
    bits, step = box
    shift = 52 - step * 2
    return bits << shift, (bits + 1) << shift
