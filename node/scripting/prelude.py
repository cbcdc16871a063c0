"""The Lua side of the sandbox, run once per interpreter (script_lua.c, eval.c's init).

Redis patches its Lua 5.1 with read-only tables; stock Lua 5.1 (lupa's ``lua51``) has
none, so the protection is built from proxies: scripts see a globals table and library
tables that are empty proxies whose ``__index`` is the real table and whose
``__newindex`` raises Redis's "Attempt to modify a readonly table"; ``rawset``,
``setmetatable`` and ``table.insert`` are wrapped so they cannot reach around them, and
``pairs``, ``next``, ``rawget`` and ``table.foreach`` see a proxy's real table, so walking
``_G`` or ``redis`` shows what Redis shows (``getfenv``, ``setfenv``
and ``newproxy`` are absent, as in Redis 7.0). The Python functions are C functions to a
script: ``type`` says "function", ``getmetatable`` gives nil, ``tostring`` hides them.
Reading a missing global raises Redis's "Script attempted to access nonexistent global
variable". Binary chunks are refused by ``loadstring``/``load`` the way Redis's patched
parser refuses them (as text that does not parse).

Python functions a script calls (redis.call, the libraries ...) are lupa callables, C
functions to Lua, so a call keeps its caller's frame (Redis's are C functions too). They
raise ``ScriptError`` carrying the Lua error value (a string with the caller's position,
as luaL_error gives, or an ``{err=...}`` table); lupa hands Lua the exception, and the
error handler and ``pcall`` turn it back into that value. No Python object is reachable
from a script otherwise: the callables sit in read-only tables, attribute access on them
is refused, and ``debug`` is gone once the error handler holds it. Lua functions of this
prelude that raise (the read-only guards) are seen by the error handler as the one C
function they stand for when it looks for the script's line.

The chunk returns the functions the engine calls: ``run`` (a script body with KEYS/ARGV,
or a function with keys and args, converting the result to RESP in Lua) and helpers.
"""

PRELUDE_NAME = "=redis_prelude"

PRELUDE = r"""
local py = ...
local G = _G
local dbg = debug
local error, type, rawget, rawset, tostring, select, next, pairs, pcall, xpcall =
      error, type, rawget, rawset, tostring, select, next, pairs, pcall, xpcall
local setmetatable, getmetatable, getfenv, setfenv, loadstring, load, unpack =
      setmetatable, getmetatable, getfenv, setfenv, loadstring, load, unpack
local concat, format, gsub, sub, byte = table.concat, string.format, string.gsub, string.sub, string.byte
local PRELUDE_SOURCE = "=redis_prelude"

local unwrap = py.unwrap
local readonly = setmetatable({}, {__mode = "k"})
local RO = "Attempt to modify a readonly table"
local function ro_newindex() error(RO, 2) end
local protected_mt = {}

local runner_raw = {}  -- raw access the Python side of next/pairs/rawget calls

-- the real table behind each read-only proxy: iteration and raw reads see its contents
local real_of = setmetatable({}, {__mode = "k"})

local function protect(real)
  local proxy = {}
  readonly[proxy] = true
  real_of[proxy] = real
  setmetatable(proxy, {__index = real, __newindex = ro_newindex, __metatable = protected_mt})
  return proxy
end

-- the globals scripts see: R holds them, P (the environment) is its read-only face
local R = {}
local P = {}
readonly[P] = true
real_of[P] = R
readonly[protected_mt] = true
setmetatable(protected_mt, {__newindex = ro_newindex, __metatable = protected_mt})
local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
setmetatable(R, {__index = missing})
local P_mt = {__index = R, __newindex = ro_newindex, __metatable = protected_mt}
setmetatable(P, P_mt)

-- a read-only table whose missing fields are errors (luaSetErrorMetatable + protection)
local function strict(real)
  local proxy = {}
  readonly[proxy] = true
  real_of[proxy] = real
  setmetatable(proxy, {__index = function(t, k)
    local v = rawget(real, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end, __newindex = ro_newindex, __metatable = protected_mt})
  return proxy
end

for _, name in ipairs({"xpcall", "tostring", "next", "assert", "tonumber", "rawequal",
    "collectgarbage", "getmetatable", "type", "select", "unpack", "gcinfo", "pairs",
    "rawget", "ipairs", "_VERSION", "error"}) do
  R[name] = G[name]
end

-- Python callables are lupa userdata: they pass for the C functions they stand for
local py_mt = getmetatable(py.call)
local raw_type, raw_tostring = type, tostring
R.type = function(...)
  local v = ...
  if select("#", ...) > 0 and getmetatable(v) == py_mt then return "function" end
  return raw_type(...)
end
R.getmetatable = function(...)
  local mt = getmetatable(...)
  if mt == py_mt then return nil end
  return mt
end
R.tostring = function(...)
  local v = ...
  if select("#", ...) > 0 and getmetatable(v) == py_mt then return "function: builtin" end
  return raw_tostring(...)
end
-- the base functions that read a table raw or walk it see a proxy's real table, as
-- Redis's read-only tables are walked. They are Python functions (C functions to Lua, as
-- Redis's are): a script's ``return next(t)`` is then no tail call losing its line.
local function pairs_next(t, k) return next(real_of[t] or t, k) end
function runner_raw.next(t, k) return next(real_of[t] or t, k) end
function runner_raw.rawget(t, k) return rawget(real_of[t] or t, k) end
runner_raw.pairs_next = pairs_next
R.next = py.next
R.pairs = py.pairs
R.rawget = py.rawget
R.rawset = py.guarded(rawset)
R.setmetatable = py.guarded(setmetatable)
-- Redis's parser has no binary chunks: bytecode is text that does not parse
local function refuse_binary(chunk, name)
  return loadstring(" " .. chunk, name or chunk)
end
R.loadstring = function(chunk, name)
  if type(chunk) == "string" and byte(chunk, 1) == 27 then
    return refuse_binary(chunk, name)
  end
  local f, err = loadstring(chunk, name)
  if f then setfenv(f, P) end
  return f, err
end
R.load = function(reader, name)
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return R.loadstring(concat(parts), name or "=(load)")
end

-- pcall as Redis replaces it (luaRedisPcall): an {err=...} table caught is given as its message
local function pack(...) return {n = select("#", ...), ...} end
R.pcall = function(...)
  local r = pack(pcall(...))
  if not r[1] and type(r[2]) == "userdata" then r[2] = unwrap(r[2]) end
  if not r[1] and type(r[2]) == "table" then
    local msg = rawget(r[2], "err")
    if type(msg) == "string" then r[2] = msg end
  end
  return unpack(r, 1, r.n)
end

local function copy(lib)
  local t = {}
  for k, v in pairs(lib) do t[k] = v end
  return t
end

local math_lib = copy(G.math)
math_lib.random = py.random
math_lib.randomseed = py.randomseed
local string_lib = copy(G.string)
R.string = protect(string_lib)
R.math = protect(math_lib)
local table_lib = copy(G.table)
local insert = table.insert
table_lib.insert = function(...)
  if readonly[...] then
    local n = select("#", ...)
    if n == 2 or n == 3 then error(RO, 0) end
  end
  return insert(...)
end
local foreach = table.foreach
table_lib.foreach = function(t, f) return foreach(real_of[t] or t, f) end
R.table = protect(table_lib)
R.coroutine = protect(copy(G.coroutine))
getmetatable("").__index = R.string
setmetatable(getmetatable(""), {__newindex = ro_newindex})

-- the libraries implemented in Python (their functions raise as Redis's C functions do)
for _, name in ipairs({"bit", "cjson", "struct", "cmsgpack"}) do
  R[name] = protect(py.libs[name])
end

-- the redis table
local redis = {}
redis.call = py.call
redis.pcall = py.pcall
redis.sha1hex = py.sha1hex
local function single_field(field)
  return function(...)
    local v = ...
    if select("#", ...) ~= 1 or type(v) ~= "string" then
      return {err = "ERR wrong number or type of arguments"}
    end
    return {[field] = v}
  end
end
redis.status_reply = single_field("ok")
redis.error_reply = function(...)
  local v = ...
  if select("#", ...) ~= 1 or type(v) ~= "string" then
    return {err = "ERR wrong number or type of arguments"}
  end
  if sub(v, 1, 1) ~= "-" then v = "-" .. v end
  return {err = py.error_text(v)}
end
redis.log = py.log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = py.setresp
redis.set_repl = py.setrepl
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
if not py.functions then  -- the EVAL interpreter's only (script_lua.c vs function_lua.c)
  redis.replicate_commands = function() return true end
  redis.breakpoint = function() return false end
  redis.debug = function() end
end
redis.acl_check_cmd = py.acl_check
redis.REDIS_VERSION = py.version
redis.REDIS_VERSION_NUM = py.version_num
local redis_proxy = protect(redis)
R.redis = redis_proxy
R._G = P
debug = nil

-- the error handler: Redis's __redis__err__handler, seeing a prelude frame (and the C
-- functions it called) as the one C function it stands for
local function frames()
  local out = {}
  local level = 3
  local pending_c = {}
  while #out < 2 do
    local i = dbg.getinfo(level, "nSl")
    if not i then break end
    if i.source == PRELUDE_SOURCE then
      pending_c = {}
      if not out.virtual then
        out[#out + 1] = {what = "C", source = "=[C]", currentline = -1}
        out.virtual = true
      end
    elseif i.what == "C" then
      pending_c[#pending_c + 1] = i
    else
      for _, c in ipairs(pending_c) do
        if #out < 2 then out[#out + 1] = c end
      end
      pending_c = {}
      out.virtual = false
      if #out < 2 then out[#out + 1] = i end
    end
    level = level + 1
  end
  for _, c in ipairs(pending_c) do
    if #out < 2 then out[#out + 1] = c end
  end
  return out
end

local function handler(err)
  if type(err) == "userdata" then err = unwrap(err) end
  local f = frames()
  local i = f[1]
  if i and i.what == "C" then i = f[2] end
  if type(err) == "string" and i and i.currentline > 0 then
    -- raised by a C function a prelude wrapper called: positioned where the script called
    err = gsub(err, "^redis_prelude:%d+: ", i.short_src .. ":" .. i.currentline .. ": ", 1)
  end
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if i then
    err["source"] = i.source
    err["line"] = i.currentline
  end
  return err
end

if not py.functions then R.__redis__err__handler = handler end

-- Lua -> RESP (luaReplyToRedisReply)
local function crlf_to_spaces(s) return (gsub(s, "[\r\n]", " ")) end

local function double_text(d)
  if d == 1 / 0 then return "inf" elseif d == -1 / 0 then return "-inf" end
  return format("%.17g", d)
end

local encode
encode = function(v, out, resp3, script_resp3)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = "$" .. #v .. "\r\n" .. v .. "\r\n"
  elseif t == "boolean" then
    if not script_resp3 then
      if v then out[#out + 1] = ":1\r\n" else out[#out + 1] = resp3 and "_\r\n" or "$-1\r\n" end
    elseif resp3 then
      out[#out + 1] = v and "#t\r\n" or "#f\r\n"
    else
      out[#out + 1] = v and ":1\r\n" or ":0\r\n"
    end
  elseif t == "number" then
    out[#out + 1] = ":" .. format("%d", v) .. "\r\n"
  elseif t == "table" then
    local f = rawget(v, "err")
    if type(f) == "string" then
      out[#out + 1] = "-" .. crlf_to_spaces(f) .. "\r\n"
      return
    end
    f = rawget(v, "ok")
    if type(f) == "string" then
      out[#out + 1] = "+" .. crlf_to_spaces(f) .. "\r\n"
      return
    end
    f = rawget(v, "double")
    if type(f) == "number" then
      local text = double_text(f)
      if resp3 then out[#out + 1] = "," .. text .. "\r\n"
      else out[#out + 1] = "$" .. #text .. "\r\n" .. text .. "\r\n" end
      return
    end
    f = rawget(v, "big_number")
    if type(f) == "string" then
      local text = crlf_to_spaces(f)
      if resp3 then out[#out + 1] = "(" .. text .. "\r\n"
      else out[#out + 1] = "$" .. #text .. "\r\n" .. text .. "\r\n" end
      return
    end
    f = rawget(v, "verbatim_string")
    if type(f) == "table" then
      local fmt, str = rawget(f, "format"), rawget(f, "string")
      if type(fmt) == "string" and type(str) == "string" then
        if resp3 then
          out[#out + 1] = "=" .. (#str + 4) .. "\r\n" .. sub(fmt, 1, 3) .. ":" .. str .. "\r\n"
        else
          out[#out + 1] = "$" .. #str .. "\r\n" .. str .. "\r\n"
        end
        return
      end
    end
    f = rawget(v, "map")
    if type(f) == "table" then
      local at = #out + 1
      out[at] = ""
      local n = 0
      for k, item in next, f do
        encode(k, out, resp3, script_resp3)
        encode(item, out, resp3, script_resp3)
        n = n + 1
      end
      out[at] = resp3 and ("%" .. n .. "\r\n") or ("*" .. (2 * n) .. "\r\n")
      return
    end
    f = rawget(v, "set")
    if type(f) == "table" then
      local at = #out + 1
      out[at] = ""
      local n = 0
      for k in next, f do
        encode(k, out, resp3, script_resp3)
        n = n + 1
      end
      out[at] = (resp3 and "~" or "*") .. n .. "\r\n"
      return
    end
    local at = #out + 1
    out[at] = ""
    local j = 1
    while true do
      local item = rawget(v, j)
      if item == nil then break end
      encode(item, out, resp3, script_resp3)
      j = j + 1
    end
    out[at] = "*" .. (j - 1) .. "\r\n"
  else
    out[#out + 1] = resp3 and "_\r\n" or "$-1\r\n"
  end
end

local function error_reply(err, funcname)
  local msg = rawget(err, "err")
  local text = tostring(msg)
  local source, line = rawget(err, "source"), rawget(err, "line")
  if line ~= nil and source ~= nil then
    text = text .. " script: " .. funcname .. ", on " .. tostring(source) .. ":" .. tostring(line) .. "."
  end
  return text, rawget(err, "ignore_error_stats_update") == true
end

local runner = {raw = runner_raw}

-- the count hook (luaMaskCountHook): Python processes events and says whether the script
-- was killed; a killed script is then hooked on every line so that pcall cannot swallow it
local function kill_error()
  error({err = "ERR Script killed by user with SCRIPT KILL..."}, 0)
end
local function killed_line()
  local caller = dbg.getinfo(2, "S")
  if caller and caller.source == PRELUDE_SOURCE then return end
  kill_error()
end
local pyhook = py.hook
local function hook()
  if pyhook() then
    dbg.sethook(killed_line, "l")
    kill_error()
  end
end

-- run a compiled body (EVAL: KEYS/ARGV globals) or a function (FCALL: keys, args)
local script_resp3 = false  -- redis.setresp(3) was called in this run
function runner.set_script_resp3(on) script_resp3 = on end

local cur_fn, cur_keys, cur_args
local function call_function() return cur_fn(cur_keys, cur_args) end

-- run a compiled body (EVAL: KEYS/ARGV globals) or a function (FCALL: keys, args): the
-- reply in RESP, or false, the error text and whether it is quiet (not counted again)
local function run(fn, is_eval, funcname, resp3, hook_count, keys, args)
  script_resp3 = false
  if hook_count > 0 then dbg.sethook(hook, "", hook_count) end
  local ok, result
  if is_eval then
    rawset(R, "KEYS", keys)
    rawset(R, "ARGV", args)
    ok, result = xpcall(fn, handler)
  else
    cur_fn, cur_keys, cur_args = fn, keys, args
    ok, result = xpcall(call_function, handler)
    cur_fn, cur_keys, cur_args = nil, nil, nil
  end
  if hook_count > 0 then dbg.sethook() end
  getmetatable("").__index = R.string
  if not ok then
    if type(result) ~= "table" then
      return false, "Error running script " .. funcname .. ", " .. sub(tostring(result), 1, 100), false
    end
    local text, quiet = error_reply(result, funcname)
    return false, text, quiet
  end
  local out = {}
  encode(result, out, resp3, script_resp3)
  return concat(out)
end
runner.run = run

-- the same with few keys and args, given inline: the first nkeys are the keys
function runner.run_inline(fn, is_eval, funcname, resp3, hook_count, nkeys, ...)
  local all, keys, args = {...}, {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, select("#", ...) do args[i - nkeys] = all[i] end
  return run(fn, is_eval, funcname, resp3, hook_count, keys, args)
end

-- compile an EVAL body: the chunk, with the protected globals as its environment
function runner.compile(body, chunkname)
  local f, err = loadstring(body, chunkname)
  if not f then return nil, err end
  setfenv(f, P)
  return f
end

-- FUNCTION LOAD (luaEngineCreate): while the library's code runs, the globals are only a
-- redis table with register_function, log and the version; its functions, created in the
-- same environment, see the usual globals afterwards
local load_globals = strict({redis = strict({
  register_function = py.register_function, log = py.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num,
})})
local load_hook_check = py.load_hook
local function load_timeout()
  error({err = "ERR FUNCTION LOAD timeout"}, 0)
end
local function load_hook()
  if load_hook_check() then
    dbg.sethook(load_timeout, "l")
    load_timeout()
  end
end

function runner.load_library(code)
  local f, err = loadstring(code, "@user_function")
  if not f then return false, "Error compiling function: " .. err end
  setfenv(f, P)
  P_mt.__index = load_globals
  dbg.sethook(load_hook, "", 100000)
  local ok, e = pcall(f)
  dbg.sethook()
  P_mt.__index = R
  if ok then return true end
  if type(e) == "userdata" then e = unwrap(e) end
  local msg
  if type(e) == "table" then msg = rawget(e, "err") else msg = "ERR " .. tostring(e) end
  return false, "Error registering functions: " .. tostring(msg)
end

function runner.is_function(v)
  return type(v) == "function"
end

-- luaL_where(L, 1) for a Python function raising: the position of the code calling it
-- (level 2 is the Python function, a C function to Lua; level 3 its caller), nothing when
-- a C function called it (pcall) or a prelude function standing for one
function runner.where()
  local i = dbg.getinfo(3, "Sl")
  if not i or i.what == "C" or i.source == PRELUDE_SOURCE or i.currentline <= 0 then
    return ""
  end
  return i.short_src .. ":" .. i.currentline .. ": "
end

-- the name luaL_argerror gives the Python function raising: as its caller called it
function runner.called_as()
  local i = dbg.getinfo(2, "n")
  return i and i.name or "?"
end

function runner.is_readonly(t)
  return readonly[t] == true
end

return runner
"""
