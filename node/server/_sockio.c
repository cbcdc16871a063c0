/* A client's reply written straight to its socket (server/connection.py).
 *
 * uvloop's transport.write does the same write(2) -- at once, when nothing is buffered --
 * after a method lookup, argument parsing, a list append to its buffer and the checks of
 * four functions: a sixth of the node's user-space time per request at pipeline 1
 * (perf, LPUSH -P 1: 4.0% of its CPU; 2.3% with this). Connection.write calls ``send`` only while the transport is a plain
 * TCP or Unix one, open and holding nothing unsent; whatever ``send`` leaves (a full
 * socket buffer, an error) goes to transport.write, which buffers it or closes the
 * connection, as before.
 *
 * The write holds the GIL: the socket is non-blocking (libuv's), so it never waits.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <unistd.h>

/* send(fd, data: bytes) -> int: the bytes written (0 when the socket buffer is full),
 * or -1 for any other error (left for the transport to meet and report). */
static PyObject *
sockio_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "send(fd, data) takes 2 arguments");
        return NULL;
    }
    int overflow = 0;
    long fd = PyLong_AsLongAndOverflow(args[0], &overflow);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || fd < 0 || fd > INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "send: not a file descriptor");
        return NULL;
    }
    if (!PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "send: data must be bytes");
        return NULL;
    }
    const char *buf = PyBytes_AS_STRING(args[1]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[1]);
    ssize_t written;
    do {
        written = write((int)fd, buf, (size_t)size);
    } while (written < 0 && errno == EINTR);
    if (written < 0)
        return PyLong_FromLong((errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1);
    return PyLong_FromSsize_t(written);
}

static PyMethodDef sockio_methods[] = {
    {"send", (PyCFunction)(void (*)(void))sockio_send, METH_FASTCALL,
     "send(fd, data) -> bytes written, 0 if the socket is full, -1 on an error"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sockio_module = {
    PyModuleDef_HEAD_INIT, "_sockio", "Replies written straight to a client's socket.", -1,
    sockio_methods,
};

PyMODINIT_FUNC
PyInit__sockio(void)
{
    return PyModule_Create(&sockio_module);
}
