"""The C libraries Redis links into its Lua (deps/lua/src/lua_*.c), in Python.

Each function takes the Lua arguments (strings as bytes, numbers as int or float, tables as
lupa tables) and returns ``(True, results...)`` or ``(False, message)``; the prelude's
wrapper raises the message as luaL_error would, with the caller's position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .bitop import BIT
from .cjson import make_cjson
from .cmsgpack import make_cmsgpack
from .luastruct import STRUCT

Library = dict[str, Callable[..., tuple[Any, ...]]]


def make_libraries(lua: Any, cjson_null: Any) -> dict[str, Library]:
    """bit, cjson, struct and cmsgpack for the interpreter ``lua``."""
    return {"bit": BIT, "cjson": make_cjson(lua, cjson_null), "struct": STRUCT,
            "cmsgpack": make_cmsgpack(lua)}
