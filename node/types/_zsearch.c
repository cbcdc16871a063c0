/* _zsearch: where a (score, member) pair goes in one block of a large sorted set (zorder.py).
 *
 * A block keeps its scores in an array('d') and its members in a list of bytes. Python's
 * bisect over the array boxes each probed score in a float object (a quarter of ZADD's
 * time at pipeline 16); here the probes read the doubles in place, and members (compared
 * only among equal scores) are compared as bytes are, by memcmp then length. The result
 * is exactly ZOrder._offset_py's: the same comparisons in the same order (floats by value,
 * so -0.0 equals 0.0; a sorted set holds no NaN).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* member < other (bytes order), or -1 with an exception for anything but bytes compared
 * through Python (which holds references to both while it runs). */
static inline int member_less(PyObject *member, PyObject *other)
{
    if (PyBytes_CheckExact(member) && PyBytes_CheckExact(other)) {
        Py_ssize_t a = PyBytes_GET_SIZE(member), b = PyBytes_GET_SIZE(other);
        int c = memcmp(PyBytes_AS_STRING(member), PyBytes_AS_STRING(other), (size_t)(a < b ? a : b));
        return c < 0 || (c == 0 && a < b);
    }
    Py_INCREF(member);
    Py_INCREF(other);
    int less = PyObject_RichCompareBool(member, other, Py_LT);
    Py_DECREF(member);
    Py_DECREF(other);
    return less;
}

/* The first index in [lo, hi) whose member is >= member (> member when right). */
static Py_ssize_t bisect_members(PyObject *members, PyObject *member, Py_ssize_t lo,
                                 Py_ssize_t hi, int right)
{
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        PyObject *item = PyList_GET_ITEM(members, mid);
        int less = right ? member_less(member, item) : member_less(item, member);
        if (less < 0)
            return -1;
        if (right ? less : !less)
            hi = mid;
        else
            lo = mid + 1;
        if (hi > PyList_GET_SIZE(members))  /* a Python comparison changed the list */
            hi = PyList_GET_SIZE(members);
    }
    return lo;
}

/* offset(scores, members, score, member, right): the index where (score, member) goes in
 * the block, before an equal pair (after it when right); member None: the first index
 * whose score is >= score. */
static PyObject *offset(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "offset() takes 5 arguments");
        return NULL;
    }
    PyObject *members = args[1], *member = args[3];
    if (!PyList_Check(members)) {
        PyErr_SetString(PyExc_TypeError, "offset(): members must be a list");
        return NULL;
    }
    double score = PyFloat_AsDouble(args[2]);
    if (score == -1.0 && PyErr_Occurred())
        return NULL;
    int right = PyObject_IsTrue(args[4]);
    if (right < 0)
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_FORMAT) < 0)
        return NULL;
    if (view.itemsize != sizeof(double) || view.format == NULL || strcmp(view.format, "d") != 0) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "offset(): scores must be an array('d')");
        return NULL;
    }
    const double *scores = (const double *)view.buf;
    Py_ssize_t size = view.len / (Py_ssize_t)sizeof(double);
    Py_ssize_t lo = 0, hi = size;
    while (lo < hi) {  /* bisect_left: the first score >= score */
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (scores[mid] < score)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (member == Py_None || lo == size || scores[lo] != score) {
        PyBuffer_Release(&view);
        return PyLong_FromSsize_t(lo);
    }
    /* Equal scores from lo on: their run ends at the first score > score. */
    hi = lo + 1;
    if (hi < size && scores[hi] == score) {
        Py_ssize_t top = size;
        while (hi < top) {
            Py_ssize_t mid = hi + (top - hi) / 2;
            if (score < scores[mid])
                top = mid;
            else
                hi = mid + 1;
        }
    }
    PyBuffer_Release(&view);
    if (hi > PyList_GET_SIZE(members)) {
        PyErr_SetString(PyExc_ValueError, "offset(): more scores than members");
        return NULL;
    }
    Py_ssize_t at = bisect_members(members, member, lo, hi, right);
    return at < 0 ? NULL : PyLong_FromSsize_t(at);
}

static PyMethodDef zsearch_methods[] = {
    {"offset", (PyCFunction)(void (*)(void))offset, METH_FASTCALL,
     "offset(scores, members, score, member, right): where (score, member) goes in a block."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef zsearch_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "redslot.node.types._zsearch",
    .m_doc = "The place of a (score, member) pair in a sorted set's block, without boxing scores.",
    .m_size = -1,
    .m_methods = zsearch_methods,
};

PyMODINIT_FUNC PyInit__zsearch(void)
{
    return PyModule_Create(&zsearch_module);
}
