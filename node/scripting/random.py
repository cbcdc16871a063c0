"""Redis's rand48 (rand.c): math.random in scripts draws the same numbers as on Redis.

The state is the 48-bit linear congruential generator of drand48 (a = 0x5DEECE66D,
c = 11), seeded as redisSrand48 does; a draw is its top 31 bits.
"""

from __future__ import annotations

MASK48 = (1 << 48) - 1
MULTIPLIER = 0x5DEECE66D
INCREMENT = 0xB
INITIAL = 0x1234ABCD330E
LRAND48_MAX = 2**31 - 1  # REDIS_LRAND48_MAX (INT32_MAX)


class RedisRand48:
    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = INITIAL

    def seed(self, value: int) -> None:
        """redisSrand48: the seed's two low 16-bit halves above 0x330E."""
        value &= 0xFFFFFFFF
        self.state = ((value >> 16) << 32) | ((value & 0xFFFF) << 16) | 0x330E

    def next_int(self) -> int:
        self.state = (self.state * MULTIPLIER + INCREMENT) & MASK48
        return self.state >> 17

    def next_fraction(self) -> float:
        """redis_math_random's r: (lrand48 % MAX) / MAX."""
        return (self.next_int() % LRAND48_MAX) / LRAND48_MAX
