/* _crc64: Redis's CRC64 (crc64.c: Jones polynomial, reflected, no final xor), the checksum
 * of RDB files and DUMP payloads (types/rdb.py).
 *
 * rdb.py's plain-Python crc64 folds the message as a big integer: about 0.6 s of CPU for
 * a 55 MB snapshot of 1M small hashes, plus the memory of the big ints, so loading a file
 * computed it in a forked child (persistence/crcchild.py) that was still running when the
 * keys were in: half a second of the load's wall time. Eight bytes a step through eight
 * tables (slicing-by-8), the same file takes a few tens of milliseconds here, in the
 * loading process; the result is the Python version's (tests/unit/test_crc64.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define POLY 0x95AC9329AC4BC9B5ULL  /* 0xad93d23594c935a9 bit-reversed */

static uint64_t table[8][256];

static void build_tables(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t crc = (uint64_t)i;
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        table[0][i] = crc;
    }
    for (int i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
}

static uint64_t crc64(uint64_t crc, const unsigned char *p, Py_ssize_t len)
{
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
#if PY_BIG_ENDIAN
        word = __builtin_bswap64(word);
#endif
        crc ^= word;
        crc = table[7][crc & 0xff] ^ table[6][(crc >> 8) & 0xff]
              ^ table[5][(crc >> 16) & 0xff] ^ table[4][(crc >> 24) & 0xff]
              ^ table[3][(crc >> 32) & 0xff] ^ table[2][(crc >> 40) & 0xff]
              ^ table[1][(crc >> 48) & 0xff] ^ table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* crc64(data, crc=0) -> int: the CRC64 of ``data`` (any buffer), continuing from ``crc``. */
static PyObject *crc64_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "crc64(data, crc=0) takes 1 or 2 arguments");
        return NULL;
    }
    uint64_t crc = 0;
    if (nargs == 2) {
        crc = PyLong_AsUnsignedLongLong(args[1]);
        if (crc == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len > (1 << 20)) {
        Py_BEGIN_ALLOW_THREADS
        crc = crc64(crc, (const unsigned char *)view.buf, view.len);
        Py_END_ALLOW_THREADS
    } else {
        crc = crc64(crc, (const unsigned char *)view.buf, view.len);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(crc);
}

static PyMethodDef methods[] = {
    {"crc64", (PyCFunction)(void (*)(void))crc64_py, METH_FASTCALL,
     "crc64(data, crc=0) -> int: Redis's CRC64 of data, continuing from crc."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_crc64", "Redis's CRC64 (crc64.c), as types/rdb.py's crc64.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__crc64(void)
{
    build_tables();
    return PyModule_Create(&module);
}
