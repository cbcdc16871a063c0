/* _encode: an array reply of plain elements encoded in C (protocol/reply.py's _array).
 *
 * array(items, resp3) -> bytes | None: the RESP form of the list or tuple ``items`` --
 * ``*N\r\n`` then each element -- when every element is a bytes object, None, an int
 * within a signed 64-bit integer (not a bool) or a float; None (no exception) as soon as
 * one is anything else (a nested array, a bool, a bytearray, a big int, an error ...):
 * reply.py's _array then encodes the whole array element by element, as it does when
 * this extension is not built. The forms are _array's, byte for byte:
 *
 *   bytes   $<len>\r\n<bytes>\r\n
 *   None    $-1\r\n (RESP2), _\r\n (RESP3)
 *   int     :<value>\r\n
 *   float   the text of format_double -- inf, -inf, or Python's "%.17g" (the same
 *           PyOS_double_to_string call that bytes formatting makes) -- as a bulk string
 *           in RESP2, ,<text>\r\n in RESP3
 *
 * Why: an array of 100 members (ZRANGE, LRANGE, SMEMBERS) cost ~30 ns an element in the
 * compiled _array (a header part and the element appended to a list, then joined); here
 * the size is summed in one pass and the bytes copied in a second, into one object.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define FLOAT_MAX_TEXT 32  /* "%.17g" of a double: at most 24 characters */

static Py_ssize_t digits(unsigned long long v)
{
    Py_ssize_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Writes the decimal form of v at p; returns the end. */
static char *write_signed(char *p, long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    if (v < 0) {
        *p++ = '-';
    }
    Py_ssize_t n = digits(u);
    for (Py_ssize_t i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + u % 10);
        u /= 10;
    }
    return p + n;
}

static inline char *crlf(char *p)
{
    p[0] = '\r';
    p[1] = '\n';
    return p + 2;
}

/* The text of format_double(v) into buf; returns its length, or -1 with an exception. */
static Py_ssize_t double_text(double v, char *buf)
{
    if (Py_IS_INFINITY(v)) {
        const char *text = v > 0 ? "inf" : "-inf";
        Py_ssize_t len = (Py_ssize_t)strlen(text);
        memcpy(buf, text, (size_t)len);
        return len;
    }
    char *text = PyOS_double_to_string(v, 'g', 17, 0, NULL);
    if (text == NULL) {
        return -1;
    }
    Py_ssize_t len = (Py_ssize_t)strlen(text);
    if (len > FLOAT_MAX_TEXT) {  /* cannot happen for "%.17g"; never overrun */
        PyMem_Free(text);
        PyErr_SetString(PyExc_SystemError, "double text too long");
        return -1;
    }
    memcpy(buf, text, (size_t)len);
    PyMem_Free(text);
    return len;
}

static PyObject *array(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "array(items, resp3)");
        return NULL;
    }
    PyObject *items = args[0];
    if (!PyList_CheckExact(items) && !PyTuple_CheckExact(items)) {
        Py_RETURN_NONE;
    }
    int resp3 = PyObject_IsTrue(args[1]);
    if (resp3 < 0) {
        return NULL;
    }
    /* A list's items are read through PySequence_Fast_ITEMS without calling back into
     * Python, so its length cannot change between the two passes. */
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    PyObject **elements = PySequence_Fast_ITEMS(items);
    Py_ssize_t total = 1 + digits((unsigned long long)n) + 2;  /* *N\r\n */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = elements[i];
        if (PyBytes_CheckExact(item)) {
            Py_ssize_t size = PyBytes_GET_SIZE(item);
            total += 1 + digits((unsigned long long)size) + 2 + size + 2;
        } else if (item == Py_None) {
            total += resp3 ? 3 : 5;
        } else if (PyLong_CheckExact(item)) {
            int overflow;
            (void)PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow) {
                Py_RETURN_NONE;
            }
            total += 1 + 20 + 2;  /* an upper bound: trimmed at the end */
        } else if (PyFloat_CheckExact(item)) {
            total += 1 + 2 + 2 + FLOAT_MAX_TEXT + 2;  /* an upper bound */
        } else {
            Py_RETURN_NONE;
        }
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        return NULL;
    }
    char *start = PyBytes_AS_STRING(out);
    char *p = start;
    *p++ = '*';
    p = crlf(write_signed(p, (long long)n));
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = elements[i];
        if (PyBytes_CheckExact(item)) {
            Py_ssize_t size = PyBytes_GET_SIZE(item);
            *p++ = '$';
            p = crlf(write_signed(p, (long long)size));
            memcpy(p, PyBytes_AS_STRING(item), (size_t)size);
            p = crlf(p + size);
        } else if (item == Py_None) {
            const char *null = resp3 ? "_\r\n" : "$-1\r\n";
            Py_ssize_t len = resp3 ? 3 : 5;
            memcpy(p, null, (size_t)len);
            p += len;
        } else if (PyLong_CheckExact(item)) {
            *p++ = ':';
            p = crlf(write_signed(p, PyLong_AsLongLong(item)));
        } else {
            char text[FLOAT_MAX_TEXT];
            Py_ssize_t len = double_text(PyFloat_AS_DOUBLE(item), text);
            if (len < 0) {
                Py_DECREF(out);
                return NULL;
            }
            if (resp3) {
                *p++ = ',';
            } else {
                *p++ = '$';
                p = crlf(write_signed(p, (long long)len));
            }
            memcpy(p, text, (size_t)len);
            p = crlf(p + len);
        }
    }
    if (_PyBytes_Resize(&out, p - start) < 0) {
        return NULL;
    }
    return out;
}

static PyMethodDef methods[] = {
    {"array", (PyCFunction)(void (*)(void))array, METH_FASTCALL,
     "array(items, resp3) -> the RESP bytes of an array of bytes, None, int and float "
     "elements, or None if it holds anything else"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_encode", "Array replies of plain elements encoded in C.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__encode(void)
{
    return PyModule_Create(&module_def);
}
