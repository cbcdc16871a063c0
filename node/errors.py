"""Every error text the node sends, in one place, exactly as Redis words it.

Handlers raise ``CommandError(TEXT)``; the dispatcher turns it into a ``-TEXT`` reply and
counts it in errorstats under its first word (``ERR``, ``WRONGTYPE``, ...).
"""


class CommandError(Exception):
    """A reply error. ``str(exc)`` is the line sent after the ``-``."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return self.message.split(" ", 1)[0]


class ProtocolError(Exception):
    """Malformed request: reply ``-ERR Protocol error: ...`` and close after the reply."""


# --- dispatch ---
UNKNOWN_COMMAND = "ERR unknown command '%s', with args beginning with: %s"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '%s'. Try %s HELP."
WRONG_ARITY = "ERR wrong number of arguments for '%s' command"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
NOPROTO = "NOPROTO unsupported protocol version"
MAX_CLIENTS = "ERR max number of clients reached"

# --- protocol ---
PROTO_TOO_BIG_INLINE = "too big inline request"
PROTO_TOO_BIG_MBULK = "too big mbulk count string"
PROTO_TOO_BIG_BULK = "too big bulk count string"
PROTO_UNBALANCED = "unbalanced quotes in request"
PROTO_MBULK_LEN = "invalid multibulk length"
PROTO_BULK_LEN = "invalid bulk length"
PROTO_UNAUTH_MBULK = "unauthenticated multibulk length"
PROTO_UNAUTH_BULK = "unauthenticated bulk length"
PROTO_EXPECTED_DOLLAR = "expected '$', got '%s'"

# --- generic argument errors ---
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INCR_NAN_INF = "ERR increment would produce NaN or Infinity"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NO_SUCH_KEY = "ERR no such key"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
INVALID_DB_INDEX = "ERR invalid DB index"
SELECT_CLUSTER = "ERR SELECT is not allowed in cluster mode"
OUT_OF_RANGE_POSITIVE = "ERR %s is out of range, must be positive"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
NOT_VALID_CURSOR = "ERR invalid cursor"
BUSYKEY = "BUSYKEY Target key name already exists."
SAME_OBJECT = "ERR source and destination objects are the same"
NX_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
EXPIRE_OVERFLOW = "ERR invalid expire time in '%s' command"
DUMP_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"

# --- config ---
CONFIG_UNKNOWN_ARG = "ERR Unknown option or number of arguments for CONFIG SET - '%s'"
CONFIG_SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"
CONFIG_DUPLICATE = "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter"
CONFIG_IMMUTABLE = "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config"
CONFIG_REWRITE_NO_FILE = "ERR The server is running without a config file"

# --- strings ---

# --- keys ---

# --- server and introspection ---

# --- client and connection ---
