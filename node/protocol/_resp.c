/* _resp: the canonical multibulk requests of a read, parsed in C (protocol/request.py).
 *
 * parse(data, pos, commands, max_args, max_bulk) appends to ``commands`` one list of
 * bytes per whole request from ``pos`` on that is laid out canonically -- ``*N\r\n``, then
 * ``$len\r\n<len bytes>\r\n`` for each of the N arguments, counts and lengths in decimal
 * without sign or leading zero, 1 <= N <= max_args, len <= max_bulk -- and returns the
 * offset after the last one. It stops at the first request that is anything else or not
 * all there (an inline command, *0 or *-1, a malformed or oversized header, a missing
 * \r\n, an incomplete request): the exact parser (request.py's RequestParser._parse, a
 * transliteration of Redis's processMultibulkBuffer) takes it from that offset, so what
 * this one accepts is a subset on which both give the same requests, and everything else
 * (protocol errors, the unauthenticated limits and their deferral, lazy huge headers,
 * big arguments streamed in parts) has one implementation.
 *
 * Nothing is allocated for a request before it is known to fit in the read: every
 * argument takes at least 6 bytes ("$0\r\n\r\n"), so ``*2147483647`` in a short read
 * stops at once instead of building a 16 GB list.
 *
 * share_names(names) registers bytes objects (the command table's names, lower and upper
 * case): a request's first argument equal to one of them is that object rather than a
 * new one, so the command lookup finds its hash cached and matches the key by identity
 * (a fresh bytes object is hashed with siphash at each lookup). Bytes are immutable and
 * nothing compares an argument by identity, so sharing changes no result.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define NAME_SLOTS 2048  /* a power of two; at most half of it is filled */
#define NAME_MAX_LEN 32
#define MIN_ARG_SIZE 6   /* "$0\r\n\r\n" */
#define COUNT_DIGITS 10  /* INT_MAX has 10 */
#define LEN_DIGITS 18    /* below 2^63 */

/* The shared names, by an FNV-1a hash of their bytes, open addressing; never freed. */
static PyObject *names[NAME_SLOTS];
static Py_ssize_t names_used;

static inline size_t name_home(const char *s, Py_ssize_t len)
{
    uint32_t h = 2166136261u;
    for (Py_ssize_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h & (NAME_SLOTS - 1);
}

/* The slot of the name equal to s[:len], or of the empty slot where it would go. */
static size_t name_slot(const char *s, Py_ssize_t len)
{
    size_t i = name_home(s, len);
    while (names[i] != NULL
           && (PyBytes_GET_SIZE(names[i]) != len || memcmp(PyBytes_AS_STRING(names[i]), s, len))) {
        i = (i + 1) & (NAME_SLOTS - 1);
    }
    return i;
}

/* A new reference to the shared name equal to s[:len], or NULL (no exception) if none. */
static inline PyObject *shared_name(const char *s, Py_ssize_t len)
{
    if (len > NAME_MAX_LEN || names_used == 0) {
        return NULL;
    }
    PyObject *name = names[name_slot(s, len)];
    Py_XINCREF(name);
    return name;
}

static PyObject *share_names(PyObject *module, PyObject *iterable)
{
    PyObject *iterator = PyObject_GetIter(iterable);
    if (iterator == NULL) {
        return NULL;
    }
    PyObject *name;
    while ((name = PyIter_Next(iterator)) != NULL) {
        if (!PyBytes_CheckExact(name)) {
            Py_DECREF(name);
            Py_DECREF(iterator);
            PyErr_SetString(PyExc_TypeError, "share_names takes bytes");
            return NULL;
        }
        Py_ssize_t len = PyBytes_GET_SIZE(name);
        if (len <= NAME_MAX_LEN) {
            size_t slot = name_slot(PyBytes_AS_STRING(name), len);
            if (names[slot] == NULL) {
                if (names_used >= NAME_SLOTS / 2) {
                    Py_DECREF(name);
                    Py_DECREF(iterator);
                    PyErr_SetString(PyExc_ValueError, "share_names: too many names");
                    return NULL;
                }
                Py_INCREF(name);
                names[slot] = name;
                names_used++;
            }
        }
        Py_DECREF(name);
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A canonical decimal of at most ``digits`` digits at buf[pos:] followed by "\r\n" before
 * ``end``: its value in *value and the offset after the "\n"; -1 for anything else. */
static inline Py_ssize_t read_decimal(const char *buf, Py_ssize_t pos, Py_ssize_t end,
                                      int digits, long long *value)
{
    Py_ssize_t start = pos;
    long long v = 0;
    while (pos < end && buf[pos] >= '0' && buf[pos] <= '9') {
        if (pos - start == digits) {
            return -1;
        }
        v = v * 10 + (buf[pos] - '0');
        pos++;
    }
    if (pos == start || (buf[start] == '0' && pos - start > 1)) {
        return -1;
    }
    if (end - pos < 2 || buf[pos] != '\r' || buf[pos + 1] != '\n') {
        return -1;
    }
    *value = v;
    return pos + 2;
}

static PyObject *parse(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "parse takes 5 arguments");
        return NULL;
    }
    PyObject *data = args[0], *commands = args[2];
    if (!PyBytes_CheckExact(data) || !PyList_CheckExact(commands)) {
        PyErr_SetString(PyExc_TypeError, "parse takes bytes and a list");
        return NULL;
    }
    /* PyLong_AsSsize_t: PyLong_AsLongLong converts a limit of two digits or more (the
     * defaults) through _PyLong_AsByteArray, a tenth of a one-request read's parsing. */
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    long long max_args = PyLong_AsSsize_t(args[3]);
    long long max_bulk = PyLong_AsSsize_t(args[4]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    const char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "parse: position out of the data");
        return NULL;
    }
    while (pos < n && buf[pos] == '*') {
        long long count, size;
        Py_ssize_t p = read_decimal(buf, pos + 1, n, COUNT_DIGITS, &count);
        if (p < 0 || count < 1 || count > max_args || count > (n - p) / MIN_ARG_SIZE) {
            break;
        }
        PyObject *argv = PyList_New((Py_ssize_t)count);
        if (argv == NULL) {
            return NULL;
        }
        Py_ssize_t i;
        for (i = 0; i < count; i++) {
            if (p >= n || buf[p] != '$') {
                break;
            }
            Py_ssize_t q = read_decimal(buf, p + 1, n, LEN_DIGITS, &size);
            if (q < 0 || size > max_bulk || size > n - q - 2
                    || buf[q + size] != '\r' || buf[q + size + 1] != '\n') {
                break;
            }
            PyObject *arg = i == 0 ? shared_name(buf + q, (Py_ssize_t)size) : NULL;
            if (arg == NULL) {
                arg = PyBytes_FromStringAndSize(buf + q, (Py_ssize_t)size);
                if (arg == NULL) {
                    Py_DECREF(argv);
                    return NULL;
                }
            }
            PyList_SET_ITEM(argv, i, arg);
            p = q + (Py_ssize_t)size + 2;
        }
        if (i < count) {
            Py_DECREF(argv);  /* its unset items are NULL, which list_dealloc skips */
            break;
        }
        int failed = PyList_Append(commands, argv);
        Py_DECREF(argv);
        if (failed) {
            return NULL;
        }
        pos = p;
    }
    return PyLong_FromSsize_t(pos);
}

static PyMethodDef methods[] = {
    {"parse", (PyCFunction)(void (*)(void))parse, METH_FASTCALL,
     "parse(data, pos, commands, max_args, max_bulk) -> offset after the canonical "
     "multibulk requests appended to commands"},
    {"share_names", share_names, METH_O,
     "share_names(names): first arguments equal to one of these bytes are that object"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_resp", "Canonical multibulk requests parsed in C.", -1, methods,
};

PyMODINIT_FUNC PyInit__resp(void)
{
    return PyModule_Create(&module_def);
}
