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
OOM = "OOM command not allowed when used memory > 'maxmemory'."
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
INTERNAL_ERROR = "ERR internal error: %s, see the server log"  # a handler's bug (handler_faults.py)

# --- protocol ---
PROTOCOL_ERROR = "ERR Protocol error: %s"  # with one of the texts below
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
SELECT_CLUSTER = "ERR SELECT is not allowed in cluster mode"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
NOT_VALID_CURSOR = "ERR invalid cursor"
BUSYKEY = "BUSYKEY Target key name already exists."
SAME_OBJECT = "ERR source and destination objects are the same"
NX_XX_GT_LT = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
DUMP_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"

# --- config ---
CONFIG_UNKNOWN_ARG = "ERR Unknown option or number of arguments for CONFIG SET - '%s'"
CONFIG_SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"
CONFIG_DUPLICATE = "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter"
CONFIG_IMMUTABLE = "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config"
CONFIG_REWRITE_NO_FILE = "ERR The server is running without a config file"

# --- strings ---
DECREMENT_OVERFLOW = "ERR decrement would overflow"
LCS_NOT_STRINGS = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_TOO_LONG = "ERR String too long for LCS"
LCS_TOO_MUCH_MEMORY = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"

# --- keys ---
MOVE_CLUSTER = "ERR MOVE is not allowed in cluster mode"
COPY_CLUSTER = "ERR Copying to another database is not allowed in cluster mode"
EXPIRE_UNSUPPORTED_OPTION = "ERR Unsupported option %s"
GT_AND_LT = "ERR GT and LT options at the same time are not compatible"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"
VALUE_OUT_OF_RANGE = "ERR value is out of range, value must between %d and %d"

# --- pub/sub (pubsub.c, server.c processCommand) ---
PUBSUB_CONTEXT = ("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                  "QUIT / RESET are allowed in this context")
SUBSCRIBE_DENY_BLOCKING = "ERR %s isn't allowed for a DENY BLOCKING client"
CONFIG_OBUF_ARGUMENTS = "Wrong number of arguments in buffer limit configuration."
CONFIG_OBUF_CLASS = "Invalid client class specified in buffer limit configuration."
CONFIG_OBUF_VALUE = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
TRACKING_ONE_REDIRECT = "ERR A client can only redirect to a single other client"
TRACKING_NO_SUCH_CLIENT = "ERR The client ID you want redirect to does not exist"
TRACKING_PREFIX_NEEDS_BCAST = "ERR PREFIX option requires BCAST mode to be enabled"
TRACKING_BCAST_SWITCH = (
    "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
    "and then re-enabling it with a different mode.")
TRACKING_OPT_WITH_BCAST = "ERR OPTIN and OPTOUT are not compatible with BCAST"
TRACKING_OPTIN_AND_OPTOUT = "ERR You can't specify both OPTIN mode and OPTOUT mode"
TRACKING_OPT_SWITCH = (
    "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
    "and then re-enabling it with a different mode.")
TRACKING_PREFIX_OVERLAPS_EXISTING = (
    "ERR Prefix '%s' overlaps with an existing prefix '%s'. "
    "Prefixes for a single client must not overlap.")
TRACKING_PREFIX_OVERLAPS_PROVIDED = (
    "ERR Prefix '%s' overlaps with another provided prefix '%s'. "
    "Prefixes for a single client must not overlap.")
CACHING_NOT_TRACKING = (
    "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN "
    "or OPTOUT mode enabled")
CACHING_YES_NOT_OPTIN = "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."
CACHING_NO_NOT_OPTOUT = "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."
CONFIG_NOTIFY_EVENTS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

# --- server and introspection ---
DEBUG_PACKED_THRESHOLD = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
DEBUG_NOT_LISTPACK = "ERR Not a listpack encoded object."
LATENCY_NO_SAMPLES = "ERR No samples available for event '%s'"
MODULE_LOAD = "ERR Error loading the extension. Please check the server logs."
MODULE_UNLOAD = "ERR Error unloading module: %s"
GETKEYS_INVALID_COMMAND = "ERR Invalid command specified"
GETKEYS_NO_KEYS = "ERR The command has no key arguments"
GETKEYS_WRONG_ARITY = "ERR Invalid number of arguments specified for command"
GETKEYS_INVALID_ARGUMENTS = "ERR Invalid arguments specified for command"
SUBCOMMAND_SYNTAX = "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
SWAPDB_CLUSTER = "ERR SWAPDB is not allowed in cluster mode"
SWAPDB_INVALID_FIRST = "ERR invalid first DB index"
SWAPDB_INVALID_SECOND = "ERR invalid second DB index"
NO_SHUTDOWN_IN_PROGRESS = "ERR No shutdown in progress."
MONITOR_DENY_BLOCKING = "ERR MONITOR isn't allowed for DENY BLOCKING client"
PROTECTED_COMMAND = (
    "ERR %s command not allowed. If the %s option is set to \"local\", you can run it from a "
    "local connection, otherwise you need to set this option in the configuration file, and "
    "then restart the server."
)
SLOWLOG_COUNT = "ERR count should be greater than or equal to -1"
LFU_NOT_SELECTED = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
    "that when switching between policies at runtime LRU and LFU data will take some time to "
    "adjust."
)
LFU_SELECTED = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust."
)
POSITIVE_VALUE = "ERR value is out of range, must be positive"
DEBUG_PROTOCOL_TYPE = (
    "ERR Wrong protocol type name. Please use one of the following: "
    "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
)
RESP2_NOT_SUPPORTED = "ERR RESP2 is not supported by this command"
GENERIC_ERR = "ERR"
BGSAVE_IN_PROGRESS = "ERR Background save already in progress"
SHUTDOWN_ERRORS = "ERR Errors trying to SHUTDOWN. Check logs."
DEBUG_RELOAD_OPTIONS = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
DEBUG_RELOAD_FAILED = "ERR Error trying to load the RDB dump, check server logs."
LOADING = "LOADING Redis is loading the dataset in memory"
MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist "
    "to disk. Commands that may modify the data set are disabled, because this instance is "
    "configured to report errors during writes if RDB snapshotting fails "
    "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "
    "RDB error."
)

# --- client and connection ---
DENIED_PROTECTED_MODE = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: 1) Just disable protected mode sending the "
    "command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    "Redis from the same host the server is running, however MAKE SURE Redis is not "
    "publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    "permanent. 2) Alternatively you can just disable the protected mode by editing the "
    "Redis configuration file, and setting the protected mode option to 'no', and then "
    "restarting the server. 3) If you started the server manually just for testing, "
    "restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    "password for the default user. NOTE: You only need to do one of the above things in "
    "order for the server to start accepting connections from the outside."
)
CLIENT_NAME_CHARS = "ERR Client names cannot contain spaces, newlines or special characters."
CLIENT_ATTR_CHARS = "ERR %s cannot contain spaces, newlines or special characters."
CLIENT_UNRECOGNIZED_OPTION = "ERR Unrecognized option '%s'"
CLIENT_UNKNOWN_TYPE = "ERR Unknown client type '%s'"
CLIENT_INVALID_ID = "ERR Invalid client ID"
CLIENT_ID_POSITIVE = "ERR client-id should be greater than 0"
NO_SUCH_CLIENT = "ERR No such client"
NO_SUCH_USER = "ERR No such user '%s'"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
TIMEOUT_OUT_OF_RANGE = "ERR timeout is out of range"
CONFIG_PROTECTED = "ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config"
CONFIG_REWRITE_FAILED = "ERR Rewriting config file: %s"

# --- hashes ---
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
NAN_OR_INFINITY = "ERR value is NaN or Infinity"

# --- lists ---
BLOCK_TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
UNBLOCK_REASON = "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
UNBLOCKED = "UNBLOCKED client unblocked via CLIENT UNBLOCK"
UNBLOCKED_DEMOTED = ("UNBLOCKED force unblock from blocking operation, instance state changed "
                     "(master -> replica?)")
INDEX_OUT_OF_RANGE = "ERR index out of range"
LPOS_RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
LPOS_COUNT_NEGATIVE = "ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"

# --- sets ---
NUMKEYS_TOO_MANY = "ERR Number of keys can't be greater than number of args"

# --- sorted sets ---
ZADD_XX_NX = "ERR XX and NX options at the same time are not compatible"
ZADD_INCR_PAIR = "ERR INCR option supports a single increment-element pair"
ZSCORE_NAN = "ERR resulting score is not a number (NaN)"
ZRANGE_NOT_FLOAT = "ERR min or max is not a float"
ZRANGE_NOT_LEX = "ERR min or max not valid string range item"
ZRANGE_LIMIT = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ZRANGE_BYLEX_WITHSCORES = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
ZSET_NEEDS_KEYS = "ERR at least 1 input key is needed for '%s' command"
WEIGHT_NOT_FLOAT = "ERR weight value is not a float"
LIMIT_NEGATIVE = "ERR LIMIT can't be negative"
VALUE_OUT_OF_RANGE_PLAIN = "ERR value is out of range"

# --- sort ---
SORT_NOT_DOUBLE = "ERR One or more scores can't be converted into double"
SORT_BY_CLUSTER = "ERR BY option of SORT denied in Cluster mode."
SORT_GET_CLUSTER = "ERR GET option of SORT denied in Cluster mode."
SORT_BY_ACL = "ERR BY option of SORT denied due to insufficient ACL permissions."
SORT_GET_ACL = "ERR GET option of SORT denied due to insufficient ACL permissions."

# --- replication ---
READONLY_REPLICA = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
REPLICAOF_CLUSTER = "ERR REPLICAOF not allowed in cluster mode."
REPLICAOF_BY_REPLICA = "ERR Command is not valid when client is a replica."
INVALID_MASTER_PORT = "ERR Invalid master port"
UNKNOWN_REPLCONF = "ERR Unrecognized REPLCONF option: %s"
NOMASTERLINK = "NOMASTERLINK Can't SYNC while not connected with my master"
FAILOVER_CLUSTER = "ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead."
FAILOVER_NONE = "ERR No failover in progress."
FAILOVER_TIMEOUT = "ERR FAILOVER timeout must be greater than 0"
FAILOVER_ALREADY = "ERR FAILOVER already in progress."
FAILOVER_ON_REPLICA = "ERR FAILOVER is not valid when server is a replica."
FAILOVER_NO_REPLICAS = "ERR FAILOVER requires connected replicas."
FAILOVER_FORCE_NEEDS = "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
FAILOVER_NOT_A_REPLICA = "ERR FAILOVER target HOST and PORT is not a replica."
FAILOVER_NOT_ONLINE = "ERR FAILOVER target replica is not online."
REPLICAOF_DURING_FAILOVER = "ERR REPLICAOF not allowed while failing over."
SYNC_DURING_FAILOVER = "NOMASTERLINK Can't SYNC while failing over"
PSYNC_FAILOVER_ON_MASTER = "ERR PSYNC FAILOVER can't be sent to a master."
PSYNC_FAILOVER_REPLID = "ERR PSYNC FAILOVER replid must match my replid."
FILTERED_REPLICA_NEEDS_EOF = "ERR Filtered replica requires EOF capability"
RDB_FILTER_MISSING = "ERR Missing rdb-filter-only values"
RDB_FILTER_UNSUPPORTED = "ERR Unsupported rdb-filter-only option: %s"
NOACK = ("NOACK the write was applied on this master but not acknowledged by "
         "min-replicas-ack replicas within min-replicas-ack-timeout: a failover may lose it")
WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if "
    "a replica is configured to be writable (which is not the default) writes to replicas are "
    "just local and are not propagated.")

# --- append-only file ---
AOF_REWRITE_RUNNING = "ERR Background append only file rewriting already in progress"
AOF_REWRITE_FAILED = "ERR Can't execute an AOF background rewriting. Please check the server logs for more information."

# --- transactions ---
NOT_ALLOWED_IN_MULTI = "ERR Command not allowed inside a transaction"
MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
WATCH_INSIDE_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
EXECABORT_BECAUSE = "EXECABORT Transaction discarded because of: %s"

# --- cluster topology ---
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
CLUSTER_BAD_SLOT = "ERR Invalid or out of range slot"
CLUSTER_INVALID_SLOT = "ERR Invalid slot"
CLUSTER_BAD_SLOT_OR_COUNT = "ERR Invalid slot or number of keys"
CLUSTER_SLOT_TWICE = "ERR Slot %d specified multiple times"
CLUSTER_SLOT_BUSY = "ERR Slot %d is already busy"
CLUSTER_SLOT_UNASSIGNED = "ERR Slot %d is already unassigned"
CLUSTER_RANGE_ORDER = "ERR start slot number %d is greater than end slot number %d"
CLUSTER_UNKNOWN_NODE = "ERR Unknown node %s"
CLUSTER_DONT_KNOW_NODE = "ERR I don't know about node %s"
CLUSTER_SETSLOT_SYNTAX = "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"
CLUSTER_SETSLOT_REPLICA = "ERR Please use SETSLOT only with masters."
CLUSTER_ALREADY_OWNER = "ERR I'm already the owner of hash slot %d"
CLUSTER_NOT_OWNER = "ERR I'm not the owner of hash slot %d"
CLUSTER_TARGET_NOT_MASTER = "ERR Target node is not a master"
CLUSTER_SLOT_HAS_KEYS = (
    "ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot."
)
CLUSTER_MEET_PORT = "ERR Invalid TCP base port specified: %s"
CLUSTER_MEET_BUS_PORT = "ERR Invalid TCP bus port specified: %s"
CLUSTER_MEET_ADDRESS = "ERR Invalid node address specified: %s:%s"
CLUSTER_REPLICATE_MYSELF = "ERR Can't replicate myself"
CLUSTER_REPLICATE_REPLICA = "ERR I can only replicate a master, not a replica."
CLUSTER_REPLICATE_NOT_EMPTY = "ERR To set a master the node must be empty and without assigned slots."
CLUSTER_NOT_A_MASTER = "ERR The specified node is not a master"
CLUSTER_FORGET_MYSELF = "ERR I tried hard but I can't forget myself..."
CLUSTER_FORGET_MASTER = "ERR Can't forget my master!"
CLUSTER_FLUSHSLOTS_NOT_EMPTY = "ERR DB must be empty to perform CLUSTER FLUSHSLOTS."
CLUSTER_RESET_WITH_KEYS = "ERR CLUSTER RESET can't be called with master nodes containing keys"
CLUSTER_FAILOVER_MASTER = "ERR You should send CLUSTER FAILOVER to a replica"
CLUSTER_FAILOVER_NO_MASTER = "ERR I'm a replica but my master is unknown to me"
CLUSTER_FAILOVER_MASTER_DOWN = "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE"
CLUSTER_BAD_CONFIG_EPOCH = "ERR Invalid config epoch specified: %d"
CLUSTER_EPOCH_NOT_ALONE = (
    "ERR The user can assign a config epoch only when the node does not know any other node."
)
CLUSTER_EPOCH_NONZERO = "ERR Node config epoch is already non-zero"
CLUSTER_SAVECONFIG = "ERR error saving the cluster node config: %s"
CLUSTER_TOPOLOGY_STALE = "ERR topology epoch %d is not newer than this node's epoch %d"
CLUSTER_TOPOLOGY_BAD = "ERR invalid topology table: %s"
CLUSTER_TOPOLOGY_NOT_MINE = "ERR the topology table has no row for this node (%s)"

# --- cluster hold ---
# NOMASTERLINK, as a replica without its master link answers: Redis replicas, like
# redslot's, take it as "try again later" rather than as a refusal of PSYNC itself.
CLUSTER_HELD_SYNC = "NOMASTERLINK Can't SYNC until the control plane confirms this node's role"

# --- cluster redirects and migration ---
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
CLUSTERDOWN_STATE = "CLUSTERDOWN The cluster is down"
CLUSTERDOWN_READONLY = "CLUSTERDOWN The cluster is down and only accepts read commands"
CLUSTERDOWN_UNBOUND = "CLUSTERDOWN Hash slot not served"
MOVED = "MOVED %d %s"
ASK = "ASK %d %s"
MIGRATE_KEYS_NOT_EMPTY = (
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
MIGRATE_CONNECT = "IOERR error or timeout connecting to the client"
MIGRATE_IO = "IOERR error or timeout %s to target instance"
MIGRATE_TARGET_ERROR = "ERR Target instance replied with error: %s"

# HELLO
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
    "select the RESP protocol version at the same time"
)
HELLO_PROTOCOL_VERSION = "ERR Protocol version is not an integer or out of range"
HELLO_SYNTAX = "ERR Syntax error in HELLO option '%s'"

# The metrics exporter's private channel (observability/metrics.py)
EXPORTER_UNKNOWN_REQUEST = "ERR unknown exporter request '%s'"

# Configuration values, as config.c words them (CONFIG SET and config files)
CONFIG_MEMORY = "argument must be a memory value"
CONFIG_MEMORY_OR_PERCENT = "argument must be a memory or percent value"
CONFIG_PERCENT_RANGE = "percentage argument must be less or equal to %d"
CONFIG_SHUTDOWN_SAVE_NOSAVE = "shutdown options SAVE and NOSAVE can't be used simultaneously"
CONFIG_OCTAL = "argument couldn't be parsed as an octal number"
CONFIG_OCTAL_RANGE = "argument must be between %o and %o inclusive"
CONFIG_OOM_VALUES = "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
CONFIG_PROC_TITLE = "template format is invalid or contains unknown variables"
TLS_UPDATE_FAILED = "Unable to update TLS configuration. Check server logs."
CONFIG_BOOL = "argument must be 'yes' or 'no'"
CONFIG_INTEGER = "argument couldn't be parsed into an integer"
CONFIG_INTEGER_RANGE = "argument must be between %d and %d inclusive"
CONFIG_ENUM = "argument(s) must be one of the following: %s"
CONFIG_SAVE = "Invalid save parameters"
CONFIG_PERCENTILES = "Invalid latency-tracking-info-percentiles parameters"
CONFIG_PERCENTILES_RANGE = (
    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
CONFIG_BIND_TOO_MANY = "Too many bind addresses specified."
CONFIG_ARGUMENTS = "wrong number of arguments"
CONFIG_MASTER_PORT = "Invalid master port"
CONFIG_BAD_DIRECTIVE = "Bad directive or wrong number of arguments"
CONFIG_UNBALANCED = "Unbalanced quotes in configuration line"
CONFIG_CANT_OPEN = "Fatal error, can't open config file '%s': %s"
CONFIG_HOSTNAME = "Hostnames may only contain alphanumeric characters, hyphens or dots"
CONFIG_DBFILENAME = "dbfilename can't be a path, just a filename"

# --- streams (t_stream.c, blocked.c) ---
STREAM_INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
STREAM_ID_ZERO = "ERR The ID specified in XADD must be greater than 0-0"
STREAM_EXHAUSTED = "ERR The stream has exhausted the last possible ID, unable to add more items"
STREAM_ID_TOO_SMALL = (
    "ERR The ID specified in XADD is equal or smaller than the target stream top item")
STREAM_TOO_LARGE = "ERR Elements are too large to be stored"
STREAM_TRIM_BOTH = (
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
STREAM_MAXLEN_NEGATIVE = "ERR The MAXLEN argument must be >= 0."
STREAM_LIMIT_NEGATIVE = "ERR The LIMIT argument must be >= 0."
STREAM_LIMIT_NO_STRATEGY = (
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
STREAM_XTRIM_NO_STRATEGY = "ERR syntax error, XTRIM must be called with a trimming strategy"
STREAM_LIMIT_NOT_APPROX = "ERR syntax error, LIMIT cannot be used without the special ~ option"
STREAM_INVALID_START = "ERR invalid start ID for the interval"
STREAM_INVALID_END = "ERR invalid end ID for the interval"
XREAD_UNBALANCED = (
    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be "
    "specified.")
XREAD_GROUP_OPTION = "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
XREAD_NOACK_OPTION = "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
XREADGROUP_NO_GROUP_OPTION = "ERR Missing GROUP option for XREADGROUP"
XREADGROUP_NOGROUP = (
    "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option")
XREADGROUP_DOLLAR = (
    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
    "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ "
    "ID would just return an empty result set.")
XREAD_GREATER = (
    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
    "<consumer> option.")
XREAD_BLOCK_SCRIPT = "ERR %s command is not allowed with BLOCK option from scripts"
XGROUP_ENTRIESREAD = "ERR value for ENTRIESREAD must be positive or -1"
XGROUP_NO_KEY = (
    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
    "to use the MKSTREAM option to create an empty stream automatically.")
XGROUP_NOGROUP = "NOGROUP No such consumer group '%s' for key name '%s'"
XGROUP_BUSYGROUP = "BUSYGROUP Consumer Group name already exists"
XSETID_ENTRIES_ADDED = "ERR entries_added must be positive"
XSETID_MAX_DELETED = (
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
XSETID_TOO_SMALL = "ERR The ID specified in XSETID is smaller than the target stream top item"
XSETID_ENTRIES_SMALL = (
    "ERR The entries_added specified in XSETID is smaller than the target stream length")
STREAM_NOGROUP = "NOGROUP No such key '%s' or consumer group '%s'"
XCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XCLAIM"
XCLAIM_IDLE = "ERR Invalid IDLE option argument for XCLAIM"
XCLAIM_TIME = "ERR Invalid TIME option argument for XCLAIM"
XCLAIM_RETRYCOUNT = "ERR Invalid RETRYCOUNT option argument for XCLAIM"
XCLAIM_OPTION = "ERR Unrecognized XCLAIM option '%s'"
XAUTOCLAIM_MIN_IDLE = "ERR Invalid min-idle-time argument for XAUTOCLAIM"
XAUTOCLAIM_COUNT = "ERR COUNT must be > 0"
XREADGROUP_GROUP_GONE = "NOGROUP the consumer group this client was blocked on no longer exists"
XREADGROUP_KEY_GONE = "UNBLOCKED the stream key no longer exists"
BLOCK_TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
XAUTOCLAIM_NO_MEMORY = (
    "ERR Insufficient memory, failed allocating transient memory, COUNT too high.")

# Bitmaps and BITFIELD (bitops.c)
BIT_OFFSET_OUT_OF_RANGE = "ERR bit offset is not an integer or out of range"
BIT_VALUE_OUT_OF_RANGE = "ERR bit is not an integer or out of range"
BITPOS_BIT = "ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE_KEY = "ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = (
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported "
    "but i64 is.")
BITFIELD_OVERFLOW_TYPE = "ERR Invalid OVERFLOW type specified"
BITFIELD_RO_GET_ONLY = "ERR BITFIELD_RO only supports the GET subcommand"

# Geo commands (geo.c)
GEO_LONLAT = "ERR invalid longitude,latitude pair %f,%f"
GEO_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
GEO_RADIUS = "ERR need numeric radius"
GEO_RADIUS_NEGATIVE = "ERR radius cannot be negative"
GEO_WIDTH = "ERR need numeric width"
GEO_HEIGHT = "ERR need numeric height"
GEO_BOX_NEGATIVE = "ERR height or width cannot be negative"
GEO_MEMBER = "ERR could not decode requested zset member"
GEO_COUNT = "ERR COUNT must be > 0"
GEO_STORE_OPTIONS = "ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
GEO_FROM = "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s"
GEO_BY = "ERR exactly one of BYRADIUS and BYBOX can be specified for %s"
GEO_ANY = "ERR the ANY argument requires COUNT argument"

# --- HyperLogLog (hyperloglog.c) ---
HLL_WRONGTYPE = "WRONGTYPE Key is not a valid HyperLogLog string value."
HLL_INVALID = "INVALIDOBJ Corrupted HLL object detected"
HLL_NO_KEY = "ERR The specified key does not exist"
HLL_NOT_SPARSE = "ERR HLL encoding is not sparse"
HLL_UNKNOWN_DEBUG = "ERR Unknown PFDEBUG subcommand '%s'"
HLL_SELFTEST_FAILED = "ERR TESTFAILED %s"

# --- scripting and functions (eval.c, script.c, script_lua.c, functions.c) ---
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NUMKEYS_GREATER = "ERR Number of keys can't be greater than number of args"
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
SCRIPT_COMPILE = "ERR Error compiling script (new function): %s"
SCRIPT_FLUSH_MODE = "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
SHEBANG_INVALID = "ERR Invalid script shebang"
SHEBANG_INVALID_ENGINE = "ERR Invalid engine in script shebang"
SHEBANG_ENGINE = "ERR Unexpected engine in script shebang: %s"
SHEBANG_OPTION = "ERR Unknown lua shebang option: %s"
SHEBANG_FLAG = "ERR Unexpected flag in script shebang: %s"
NOTBUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE_MASTER = ("UNKILLABLE The busy script was sent by a master instance in the context "
                     "of replication and cannot be killed.")
UNKILLABLE_WRITTEN = ("UNKILLABLE Sorry the script already executed write commands against "
                      "the dataset. You can either wait the script termination or kill the "
                      "server in a hard way using the SHUTDOWN NOSAVE command.")
BUSY_EVAL = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL or "
             "SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                 "SHUTDOWN NOSAVE.")
SCRIPT_UNKNOWN_COMMAND = "ERR Unknown Redis command called from script"
SCRIPT_WRONG_ARITY = "ERR Wrong number of args calling Redis command from script"
SCRIPT_NOT_ALLOWED = "ERR This Redis command is not allowed from script"
SCRIPT_ACL_COMMAND = "ERR The user executing the script can't run this command or subcommand"
SCRIPT_ACL_KEY = ("ERR The user executing the script can't access at least one of the keys "
                  "mentioned in the command arguments")
SCRIPT_ACL_CHANNEL = ("ERR The user executing the script can't publish to the channel "
                      "mentioned in the command")
SCRIPT_WRITE_IN_READ_ONLY = "ERR Write commands are not allowed from read-only scripts."
SCRIPT_NON_LOCAL_KEY = "ERR Script attempted to access a non local key in a cluster node"
SCRIPT_CROSS_SLOT = "ERR Script attempted to access keys that do not hash to the same slot"
SCRIPT_CLUSTER_DOWN = "ERR Script attempted to execute a command while the cluster is down"
SCRIPT_CLUSTER_DOWN_RO = ("ERR Script attempted to execute a write command while the cluster is "
                          "down and readonly")
SCRIPT_NO_CLUSTER = "ERR Can not run script on cluster, 'no-cluster' flag is set."
SCRIPT_READONLY_REPLICA = "READONLY Can not run script with write flag on readonly replica"
SCRIPT_WRITE_WITH_RO = "ERR Can not execute a script with write flag using *_ro command."
SCRIPT_OOM = ("OOM allow-oom flag is not set on the script, can not run it when used memory > "
              "'maxmemory'")
SCRIPT_MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently "
                  "unable to persist to disk. Writable scripts are blocked. Use 'no-writes' "
                  "flag for read only scripts.")
FUNCTION_MISSING_METADATA = "ERR Missing library metadata"
FUNCTION_INVALID_METADATA = "ERR Invalid library metadata"
FUNCTION_NAME_TWICE = "ERR Invalid metadata value, name argument was given multiple times"
FUNCTION_METADATA_VALUE = "ERR Invalid metadata value given: %s"
FUNCTION_NO_NAME = "ERR Library name was not given"
FUNCTION_BAD_NAME = ("ERR Library names can only contain letters, numbers, or underscores(_) "
                     "and must be at least one character long")
FUNCTION_NO_ENGINE = "ERR Engine '%s' not found"
FUNCTION_LIBRARY_EXISTS = "ERR Library '%s' already exists"
FUNCTION_LIBRARY_EXISTS_JOIN = "ERR Library %s already exists"
FUNCTION_NONE_REGISTERED = "ERR No functions registered"
FUNCTION_EXISTS = "ERR Function %s already exists"
FUNCTION_LIBRARY_NOT_FOUND = "ERR Library not found"
FUNCTION_NOT_FOUND = "ERR Function not found"
FUNCTION_BAD_NUMKEYS = "ERR Bad number of keys provided"
FUNCTION_UNKNOWN_OPTION = "ERR Unknown option given: %s"
FUNCTION_CODE_MISSING = "ERR Function code is missing"
FUNCTION_LIST_NO_NAME = "ERR library name argument was not given"
FUNCTION_LIST_UNKNOWN = "ERR Unknown argument %s"
FUNCTION_FLUSH_MODE = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
FUNCTION_RESTORE_POLICY = ("ERR Wrong restore policy given, value should be either FLUSH, "
                           "APPEND or REPLACE.")
FUNCTION_BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
FUNCTION_NOT_A_FUNCTION = "ERR given type is not a function"
FUNCTION_PRE_GA = "ERR Pre-GA function format not supported"
FUNCTION_RESTORE_FAILED = "ERR failed loading the given functions payload"

# ACL (acl.c, server.c processCommand, multi.c execCommand)
ACL_SETUSER_ERROR = "ERR Error in ACL SETUSER modifier '%s': %s"
ACL_UNMATCHED_PAREN = "ERR Unmatched parenthesis in acl selector starting at '%s'."
ACL_USERNAME_SPACES = "ERR Usernames can't contain spaces or null characters"
ACL_WRONG_FORMAT = "Wrong format"
ACL_UNKNOWN_COMMAND = "Unknown command or category name in ACL"
ACL_SYNTAX = "Syntax error"
ACL_KEYS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not "
    "have any effect. Try 'resetkeys' to start with an empty list of patterns")
ACL_CHANNELS_AFTER_ALL = (
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does "
    "not have any effect. Try 'resetchannels' to start with an empty list of channels")
ACL_NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
ACL_BAD_HASH = (
    "The password hash must be exactly 64 characters and contain only lowercase "
    "hexadecimal characters")
ACL_DUPLICATE_USER = "Duplicate user found. A user can only be defined once in config files"
ACL_SUBCOMMAND_FIRSTARG = "Allowing first-arg of a subcommand is not supported"
ACL_DEFAULT_UNDELETABLE = "ERR The 'default' user cannot be removed"
ACL_UNKNOWN_CATEGORY = "ERR Unknown category '%s'"
ACL_GENPASS_BITS = (
    "ERR ACL GENPASS argument must be the number of bits for the output password, a "
    "positive number up to 4096")
ACL_NO_FILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify "
    "users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a "
    "Redis configuration file set) in order to store users in the Redis configuration.")
ACL_SAVE_FAILED = (
    "ERR There was an error trying to save the ACLs. Please check the server logs for more "
    "information")
ACL_DRYRUN_NO_USER = "ERR User '%s' not found"
ACL_DRYRUN_NO_COMMAND = "ERR Command '%s' not found"
ACL_DRYRUN_DENIED_CMD = "This user has no permissions to run the '%s' command"
ACL_DRYRUN_DENIED_KEY = "This user has no permissions to access the '%s' key"
ACL_DRYRUN_DENIED_CHANNEL = "This user has no permissions to access the '%s' channel"
NOPERM_COMMAND = "NOPERM this user has no permissions to run the '%s' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = (
    "NOPERM this user has no permissions to access one of the channels used as arguments")
NOPERM_EXEC = (
    "NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
    "EXEC call. This command is no longer allowed for the following reason: %s")
NOPERM_EXEC_REASONS = {
    "command": "no permission to execute the command or subcommand",
    "key": "no permission to touch the specified keys",
    "channel": "no permission to access one of the channels used as arguments",
}

# --- lease fencing (CLUSTER LEASE, redslot's own) ---
CLUSTER_LEASE_DURATION = "ERR lease duration must be a positive number of milliseconds"
CLUSTER_LEASE_EPOCH = "ERR minimum topology epoch must not be negative"

# --- loading (a snapshot's small hashes are decoded on first use) ---
CORRUPT_LOADED_VALUE = "ERR this key's value was loaded from a corrupt snapshot (%s)"
