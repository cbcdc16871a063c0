/* _packed: the packed form of small hashes and sets (packed.py), read and edited in place.
 *
 * packed.py lays a list of short byte strings out in one bytes object: a width byte (1
 * when every element is shorter than 256 bytes, else 4), the element count (4 bytes,
 * little-endian), the lengths (``width`` bytes each, native order), the elements end to
 * end, then whatever the owner appends (a set's bucket byte). In plain Python, changing
 * one element meant unpacking every element into a bytes object and packing them again:
 * about 100 ns an element compiled, so an HSET on a 100-field listpack hash took 12 us
 * (Redis: under 1). Here a lookup compares lengths and memcmp's in place, and an edit
 * (``splice``) copies the parts around the change into the new bytes object, as Redis
 * moves a listpack's tail.
 *
 * Every function gives exactly what packed.py's plain-Python twin gives, including the
 * width rule after an edit (4 only while some element is 256 bytes or longer).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HEADER 5

typedef struct {
    const unsigned char *buf;
    Py_ssize_t size;   /* bytes in the object */
    Py_ssize_t n;      /* elements */
    Py_ssize_t width;  /* 1 or 4 */
    Py_ssize_t start;  /* where the first element starts */
} Packed;

static inline Py_ssize_t length_at(const Packed *p, Py_ssize_t i)
{
    if (p->width == 1)
        return p->buf[HEADER + i];
    uint32_t v;
    memcpy(&v, p->buf + HEADER + 4 * i, 4);
    return (Py_ssize_t)v;
}

static int corrupt(void)
{
    PyErr_SetString(PyExc_ValueError, "not a packed list");
    return -1;
}

/* The header of ``obj`` (bytes or a subclass) read into ``p``: 0, or -1 with an exception. */
static int open_packed(PyObject *obj, Packed *p)
{
    if (!PyBytes_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "a packed list is bytes");
        return -1;
    }
    p->buf = (const unsigned char *)PyBytes_AS_STRING(obj);
    p->size = PyBytes_GET_SIZE(obj);
    p->width = 1;
    p->n = p->start = 0;
    if (p->size == 0)
        return 0;
    if (p->size < HEADER || (p->buf[0] != 1 && p->buf[0] != 4))
        return corrupt();
    p->width = p->buf[0];
    p->n = (Py_ssize_t)((uint32_t)p->buf[1] | (uint32_t)p->buf[2] << 8
                        | (uint32_t)p->buf[3] << 16 | (uint32_t)p->buf[4] << 24);
    p->start = HEADER + p->width * p->n;
    if (p->start > p->size)
        return corrupt();
    return 0;
}

/* An element to store: bytes or bytearray (what b"".join takes from commands). */
static int element_data(PyObject *obj, const char **data, Py_ssize_t *len)
{
    if (PyBytes_Check(obj)) {
        *data = PyBytes_AS_STRING(obj);
        *len = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyByteArray_Check(obj)) {
        *data = PyByteArray_AS_STRING(obj);
        *len = PyByteArray_GET_SIZE(obj);
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "a packed element is bytes, not %.100s", Py_TYPE(obj)->tp_name);
    return -1;
}

static void put_length(unsigned char *at, Py_ssize_t width, Py_ssize_t length)
{
    if (width == 1) {
        *at = (unsigned char)length;
    } else {
        uint32_t v = (uint32_t)length;
        memcpy(at, &v, 4);
    }
}

/* The position of the element equal to ``want`` (len ``size``) among elements first,
 * first + step, ...; -1 when none is, -2 with an exception for a corrupt form. */
static Py_ssize_t scan(const Packed *p, const char *want, Py_ssize_t size, Py_ssize_t step,
                       Py_ssize_t *found_at)
{
    Py_ssize_t pos = p->start;
    for (Py_ssize_t i = 0; i < p->n; i++) {
        Py_ssize_t length = length_at(p, i);
        if (length > p->size - pos) {
            corrupt();
            return -2;
        }
        if (i % step == 0 && length == size && memcmp(p->buf + pos, want, (size_t)size) == 0) {
            *found_at = pos;
            return i;
        }
        pos += length;
    }
    return -1;
}

static int check_args(Py_ssize_t nargs, Py_ssize_t want, const char *name)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments", name, want);
        return -1;
    }
    return 0;
}

/* The total length of ``elements`` (a list of bytes) added to ``*total``, and ``*width``
 * raised to 4 if one is 256 bytes or longer: 0, or -1 with an exception. */
static int measure(PyObject *elements, Py_ssize_t *total, Py_ssize_t *width)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(elements); i++) {
        const char *data = NULL;
        Py_ssize_t len = 0;
        if (element_data(PyList_GET_ITEM(elements, i), &data, &len) < 0)
            return -1;
        if (len >= 256)
            *width = 4;
        *total += len;
    }
    return 0;
}

/* A packed list's header: the width byte and the element count (little-endian). */
static void put_header(unsigned char *w, Py_ssize_t width, Py_ssize_t n)
{
    w[0] = (unsigned char)width;
    for (int b = 0; b < 4; b++)
        w[1 + b] = (unsigned char)((uint32_t)n >> (8 * b));
}

/* ``elements`` (measured) written: their lengths from ``lengths_at``, their bytes from
 * ``data_at``; where the bytes end. */
static unsigned char *put_elements(PyObject *elements, Py_ssize_t width,
                                   unsigned char *lengths_at, unsigned char *data_at)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(elements); i++) {
        const char *data = NULL;
        Py_ssize_t len = 0;
        element_data(PyList_GET_ITEM(elements, i), &data, &len);  /* measured: no error */
        put_length(lengths_at + width * i, width, len);
        memcpy(data_at, data, (size_t)len);
        data_at += len;
    }
    return data_at;
}

/* The lengths of ``p``'s elements [from, from + k) written at ``w`` in ``width``. */
static void copy_lengths(const Packed *p, Py_ssize_t from, Py_ssize_t k, Py_ssize_t width,
                         unsigned char *w)
{
    if (width == p->width) {
        memcpy(w, p->buf + HEADER + width * from, (size_t)(width * k));
        return;
    }
    for (Py_ssize_t i = 0; i < k; i++)
        put_length(w + width * i, width, length_at(p, from + i));
}

static int check_count(Py_ssize_t n)
{
    if (n > (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many elements to pack");
        return -1;
    }
    return 0;
}

/* pack(elements: list) -> bytes */
static PyObject *packed_pack(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (check_args(nargs, 1, "pack") < 0)
        return NULL;
    PyObject *elements = args[0];
    if (!PyList_Check(elements)) {
        PyErr_SetString(PyExc_TypeError, "pack() takes a list");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(elements), total = 0, width = 1;
    if (n == 0)
        return PyBytes_FromStringAndSize(NULL, 0);
    if (check_count(n) < 0 || measure(elements, &total, &width) < 0)
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, HEADER + width * n + total);
    if (out == NULL)
        return NULL;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(out);
    put_header(w, width, n);
    put_elements(elements, width, w + HEADER, w + HEADER + width * n);
    return out;
}

/* unpack(packed) -> list[bytes] */
static PyObject *packed_unpack(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    if (check_args(nargs, 1, "unpack") < 0 || open_packed(args[0], &p) < 0)
        return NULL;
    PyObject *out = PyList_New(p.n);
    if (out == NULL)
        return NULL;
    Py_ssize_t pos = p.start;
    for (Py_ssize_t i = 0; i < p.n; i++) {
        Py_ssize_t length = length_at(&p, i);
        if (length > p.size - pos) {
            Py_DECREF(out);
            corrupt();
            return NULL;
        }
        PyObject *item = PyBytes_FromStringAndSize((const char *)p.buf + pos, length);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
        pos += length;
    }
    return out;
}

/* The arguments (packed, element) of a search among every ``step``-th element: its
 * position (-1 when absent; -2 with an exception), the packed list's header in ``p``, where
 * the element starts in ``at`` and its length in ``size``. */
static Py_ssize_t find(PyObject *const *args, Py_ssize_t nargs, const char *name, Py_ssize_t step,
                       Packed *p, Py_ssize_t *at, Py_ssize_t *size)
{
    const char *want;
    if (check_args(nargs, 2, name) < 0 || open_packed(args[0], p) < 0
            || element_data(args[1], &want, size) < 0)
        return -2;
    return scan(p, want, *size, step, at);
}

/* index_of(packed, element) -> int: its position, -1 when absent. */
static PyObject *packed_index_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    Py_ssize_t size, at, i = find(args, nargs, "index_of", 1, &p, &at, &size);
    return i == -2 ? NULL : PyLong_FromSsize_t(i);
}

/* field_index(packed, field) -> int: in fields and values alternating, the position of
 * the field ``field`` (even), -1 when absent. */
static PyObject *packed_field_index(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    Py_ssize_t size, at, i = find(args, nargs, "field_index", 2, &p, &at, &size);
    return i == -2 ? NULL : PyLong_FromSsize_t(i);
}

/* value_of(packed, field) -> bytes | None: the value after the field ``field``. */
static PyObject *packed_value_of(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    Py_ssize_t size, at, i = find(args, nargs, "value_of", 2, &p, &at, &size);
    if (i == -2)
        return NULL;
    if (i < 0 || i + 1 >= p.n)
        Py_RETURN_NONE;
    Py_ssize_t pos = at + size, length = length_at(&p, i + 1);
    if (length > p.size - pos) {
        corrupt();
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)p.buf + pos, length);
}

/* splice(packed, at, remove, elements: list, trailer: bytes | None) -> bytes: ``packed``
 * with its elements [at, at + remove) replaced by ``elements``, followed by ``trailer``
 * (None: the bytes that followed the elements before); b"" when no element is left. */
static PyObject *packed_splice(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    if (check_args(nargs, 5, "splice") < 0 || open_packed(args[0], &p) < 0)
        return NULL;
    Py_ssize_t at = PyLong_AsSsize_t(args[1]);
    if (at == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t remove = PyLong_AsSsize_t(args[2]);
    if (remove == -1 && PyErr_Occurred())
        return NULL;
    PyObject *elements = args[3], *trailer = args[4];
    if (!PyList_Check(elements)) {
        PyErr_SetString(PyExc_TypeError, "splice(): elements must be a list");
        return NULL;
    }
    if (at < 0 || remove < 0 || at > p.n || remove > p.n - at) {
        PyErr_SetString(PyExc_IndexError, "splice(): range out of the packed list");
        return NULL;
    }
    Py_ssize_t k = PyList_GET_SIZE(elements);
    Py_ssize_t n = p.n - remove + k;
    if (n == 0)
        return PyBytes_FromStringAndSize(NULL, 0);
    if (check_count(n) < 0)
        return NULL;
    /* The offsets of element ``at``, of element ``at + remove`` and of the elements' end,
     * and whether a kept element needs four-byte lengths. */
    Py_ssize_t pos = p.start, cut_from = 0, cut_to = 0, width = 1;
    for (Py_ssize_t i = 0; i < p.n; i++) {
        if (i == at)
            cut_from = pos;
        if (i == at + remove)
            cut_to = pos;
        Py_ssize_t length = length_at(&p, i);
        if (length > p.size - pos)
            return corrupt(), NULL;
        if (length >= 256 && (i < at || i >= at + remove))
            width = 4;
        pos += length;
    }
    Py_ssize_t end = pos;
    if (at == p.n)
        cut_from = end;
    if (at + remove == p.n)
        cut_to = end;
    Py_ssize_t added = 0;
    if (measure(elements, &added, &width) < 0)
        return NULL;
    const char *tail;
    Py_ssize_t tail_len;
    if (trailer == Py_None) {
        tail = (const char *)p.buf + end;
        tail_len = p.size - end;
    } else if (element_data(trailer, &tail, &tail_len) < 0) {
        return NULL;
    }
    Py_ssize_t kept = (cut_from - p.start) + (end - cut_to);
    PyObject *out = PyBytes_FromStringAndSize(NULL, HEADER + width * n + kept + added + tail_len);
    if (out == NULL)
        return NULL;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(out);
    put_header(w, width, n);
    /* The kept elements before, the new ones, the kept ones after; then the trailer. */
    unsigned char *lw = w + HEADER, *dw = w + HEADER + width * n;
    copy_lengths(&p, 0, at, width, lw);
    memcpy(dw, p.buf + p.start, (size_t)(cut_from - p.start));
    dw = put_elements(elements, width, lw + width * at, dw + (cut_from - p.start));
    copy_lengths(&p, at + remove, p.n - at - remove, width, lw + width * (at + k));
    memcpy(dw, p.buf + cut_to, (size_t)(end - cut_to));
    memcpy(dw + (end - cut_to), tail, (size_t)tail_len);
    return out;
}

/* insertion_rank(blob, score, member) -> int: in a small sorted set (zpacked.py: the
 * members packed in (score, member) order, then their scores as native doubles), where
 * (score, member) goes: a bisect of the scores, then of the members of an equal score
 * (bytes order: memcmp, then the shorter first), as zpacked's plain-Python twin does. */
static PyObject *packed_insertion_rank(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Packed p;
    const char *want;
    Py_ssize_t size;
    if (check_args(nargs, 3, "insertion_rank") < 0 || open_packed(args[0], &p) < 0)
        return NULL;
    double score = PyFloat_AsDouble(args[1]);
    if (score == -1.0 && PyErr_Occurred())
        return NULL;
    if (element_data(args[2], &want, &size) < 0)
        return NULL;
    if (p.n == 0)
        return PyLong_FromSsize_t(0);
    if (p.n > (p.size - p.start) / (Py_ssize_t)sizeof(double))
        return corrupt(), NULL;
    const unsigned char *scores = p.buf + p.size - (Py_ssize_t)sizeof(double) * p.n;
    Py_ssize_t lo = 0, hi = p.n;
    while (lo < hi) {  /* bisect_left */
        Py_ssize_t mid = lo + (hi - lo) / 2;
        double s;
        memcpy(&s, scores + sizeof(double) * mid, sizeof(double));
        if (s < score)
            lo = mid + 1;
        else
            hi = mid;
    }
    hi = p.n;
    Py_ssize_t right = lo;
    while (right < hi) {  /* bisect_right, from lo */
        Py_ssize_t mid = right + (hi - right) / 2;
        double s;
        memcpy(&s, scores + sizeof(double) * mid, sizeof(double));
        if (score < s)
            hi = mid;
        else
            right = mid + 1;
    }
    hi = right;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        Py_ssize_t pos = p.start;
        for (Py_ssize_t i = 0; i < mid; i++)
            pos += length_at(&p, i);
        Py_ssize_t length = length_at(&p, mid);
        if (pos > p.size - length)
            return corrupt(), NULL;
        int c = memcmp(p.buf + pos, want, (size_t)(length < size ? length : size));
        if (c < 0 || (c == 0 && length < size))
            lo = mid + 1;
        else
            hi = mid;
    }
    return PyLong_FromSsize_t(lo);
}

/* The value classes (hashes.py, sets.py, zset.py: bytes subclasses with no slots, no
 * __dict__ and no weak references) are heap types, and CPython tracks every instance of
 * a heap type in the cyclic collector: a full collection walks each small hash, set and
 * sorted set (0.1 s a million), and the keyspace makes one when it grows by a quarter.
 * They hold no reference but to their class, so they can never be part of a cycle:
 * ``untrack_instances(cls)`` has the class allocate them untracked from the start
 * (gc.freeze does as much for what a load built). Deallocation needs nothing else:
 * subtype_dealloc and PyObject_GC_Del untrack only what is tracked. */
static PyObject *alloc_untracked(PyTypeObject *type, Py_ssize_t nitems)
{
    PyObject *obj = PyType_GenericAlloc(type, nitems);
    if (obj != NULL) {
        PyObject_GC_UnTrack(obj);
    }
    return obj;
}

static PyObject *packed_untrack_instances(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "untrack_instances takes a class");
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)cls;
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || !(type->tp_flags & Py_TPFLAGS_HAVE_GC)
            || type->tp_base != &PyBytes_Type
            || type->tp_basicsize != PyBytes_Type.tp_basicsize
            || type->tp_itemsize != PyBytes_Type.tp_itemsize
            || type->tp_dictoffset != 0 || type->tp_weaklistoffset != 0
            || (type->tp_alloc != PyType_GenericAlloc && type->tp_alloc != alloc_untracked)) {
        PyErr_Format(PyExc_TypeError,
                     "untrack_instances: %s is not a bytes subclass without slots",
                     type->tp_name);
        return NULL;
    }
    type->tp_alloc = alloc_untracked;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"untrack_instances", packed_untrack_instances, METH_O,
     "untrack_instances(cls): instances of this bytes subclass are allocated untracked "
     "by the cyclic garbage collector."},
    {"pack", (PyCFunction)(void (*)(void))packed_pack, METH_FASTCALL,
     "pack(elements) -> bytes: the packed form of a list of bytes."},
    {"unpack", (PyCFunction)(void (*)(void))packed_unpack, METH_FASTCALL,
     "unpack(packed) -> list: the elements."},
    {"index_of", (PyCFunction)(void (*)(void))packed_index_of, METH_FASTCALL,
     "index_of(packed, element) -> int: its position, -1 when absent."},
    {"field_index", (PyCFunction)(void (*)(void))packed_field_index, METH_FASTCALL,
     "field_index(packed, field) -> int: the field's position among pairs, -1 when absent."},
    {"value_of", (PyCFunction)(void (*)(void))packed_value_of, METH_FASTCALL,
     "value_of(packed, field) -> bytes | None: the value after a field."},
    {"splice", (PyCFunction)(void (*)(void))packed_splice, METH_FASTCALL,
     "splice(packed, at, remove, elements, trailer) -> bytes: elements [at, at + remove) "
     "replaced, then trailer (None: the one there was)."},
    {"insertion_rank", (PyCFunction)(void (*)(void))packed_insertion_rank, METH_FASTCALL,
     "insertion_rank(blob, score, member) -> int: where the pair goes in a small sorted set."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_packed",
    "The packed form of small hashes and sets, read and edited in place (packed.py).",
    -1, methods,
};

PyMODINIT_FUNC PyInit__packed(void)
{
    return PyModule_Create(&module);
}
