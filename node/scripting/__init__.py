"""Lua scripting and Functions: the interpreter, its sandbox, the script cache and the
function libraries (eval.c, script.c, script_lua.c, function_lua.c, functions.c).

Scripts run commands through the server, which sits above the handlers; this package
types it against the Protocols in ``context`` and sits below ``commands``, whose
``scripting`` and ``functions`` modules hold the handlers.
"""
