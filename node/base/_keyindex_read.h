/* KeyIndex's keyspace reads (_keyindex.c): ``read``, the keyspace's lookup of a key for
 * a read command in one call, and ``prefetch``, a hint that overlaps the cache misses of
 * a batch of requests' lookups. Both know the keyspace's layout of a code and a meta word
 * (database.py), which the rest of the table does not.
 *
 * Not a header of its own: _keyindex.c includes it where these functions stood, after
 * the table's internals they use (KeyIndex, Slot, find, hash_key, home, tag_of, key_of,
 * EMPTY, TOMB, PTR_MASK), so the module stays one extension built from one source.
 */

/* --- a keyspace read: the key's value, its access clock touched --- */

/* The keyspace's layout of a code and a meta word (database.py, ttls.py, stats.py): the
 * position is a code's low 32 bits, a TTL's slot above them; the access clock is a meta
 * word's low 24 bits, the key's cost above them. They must agree with keyindex.py's
 * POS_MASK and CLOCK_MASK: the module exposes them under those names, and
 * tests/unit/test_keyindex_layout.py compares. */
#define POS_MASK ((int64_t)0xFFFFFFFF)
#define CLOCK_MASK ((uint64_t)0xFFFFFF)

/* read(key, kv, meta, clock): database.py's lookup of a key for a read in one call,
 * where it took a lookup, two conversions of the position, a read and a write of the
 * meta word (each boxing an int) and a list read: None when the key is absent; its code
 * (an int: no value is one) when it has bits above POS_MASK (a TTL: the caller checks
 * it), touching nothing; otherwise the value at kv[2 * pos + 1], the meta word at pos
 * getting ``clock`` in its clock bits first, unless ``clock`` is negative. */
static PyObject *KeyIndex_read(KeyIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "read expected 4 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *key = args[0], *kv = args[1], *meta = args[2];
    if (!PyList_CheckExact(kv)) {
        PyErr_SetString(PyExc_TypeError, "read: kv must be a list");
        return NULL;
    }
    Py_hash_t hash = hash_key(key);
    if (hash == -1)
        return NULL;
    Slot *found = find_stepping(self, key, hash);
    if (found == NULL)
        Py_RETURN_NONE;
    int64_t code = found->code;
    if (code > POS_MASK || code < 0 || 2 * code + 1 >= PyList_GET_SIZE(kv))
        return PyLong_FromLongLong(code);  /* a TTL; or out of the columns: as before */
    long long clock = PyLong_AsLongLong(args[3]);
    if (clock == -1 && PyErr_Occurred())
        return NULL;
    if (clock >= 0) {
        Py_buffer view;
        if (PyObject_GetBuffer(meta, &view, PyBUF_WRITABLE) < 0)
            return NULL;
        if (view.itemsize != (Py_ssize_t)sizeof(uint64_t)) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_TypeError, "read: meta must hold 64-bit words");
            return NULL;
        }
        if (code >= view.len / (Py_ssize_t)sizeof(uint64_t)) {
            PyBuffer_Release(&view);
            PyErr_SetString(PyExc_IndexError, "read: a position past the meta words");
            return NULL;
        }
        uint64_t *word = (uint64_t *)view.buf + code;
        *word = (*word & ~CLOCK_MASK) | ((uint64_t)clock & CLOCK_MASK);
        PyBuffer_Release(&view);
    }
    return Py_NewRef(PyList_GET_ITEM(kv, 2 * code + 1));
}

/* --- prefetching a batch of requests' keyspace entries --- */

#define PREFETCH_MAX 32         /* requests a call looks at */
#define PREFETCH_KEY_MAX 1024   /* longer argv[1]s are not hashed here (a script, say) */
#define PREFETCH_PROBE_MAX 16   /* slots a probe reads before it gives up */
/* Fewer keys, with their values, fit the L2 cache (about 150 bytes a short string key):
 * there, measured, the walk only costs (10-20 ns a request). */
#define PREFETCH_MIN_KEYS 4096

/* The argument of prefetch at ``i`` as a Py_ssize_t, or -1 (not an int, or negative). */
static Py_ssize_t prefetch_index_arg(PyObject *arg)
{
    if (!PyLong_CheckExact(arg))
        return -1;
    Py_ssize_t v = PyLong_AsSsize_t(arg);
    if (v == -1 && PyErr_Occurred())
        PyErr_Clear();
    return v;
}

/* prefetch(requests, start, stop, kv, meta): a hint for the CPU, nothing else.
 *
 * On a large keyspace each lookup of a request misses the cache three times in a row:
 * the index slot, then the key object (compared) with the code's meta word and kv slot,
 * then the value object. Run one request after another, those misses are serial; here
 * the requests[start:stop] (at most PREFETCH_MAX) are walked in three stages, each
 * issuing every request's loads of one level before reading any of them, so the misses
 * of the batch overlap, as Valkey's memory_prefetch.c does for a batch of commands.
 *
 * The key taken is argv[1] of a request (a list of bytes): a command's first key where
 * it has one; for any other argument the work is wasted, never wrong. Hashing it caches
 * the hash in the bytes object, which the lookup then reuses. Nothing is changed that
 * anyone can see: no reference is taken or dropped, no Python code runs, no error is
 * raised for any content (arguments of another type, or out of range, skip the work);
 * ``kv`` is the list holding a position's value at 2 * pos + 1 and ``meta`` the buffer
 * of 64-bit words (an array('Q')) of database.py. */
static PyObject *KeyIndex_prefetch(KeyIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_Format(PyExc_TypeError, "prefetch expected 5 arguments, got %zd", nargs);
        return NULL;
    }
    PyObject *requests = args[0], *kv = args[3], *meta = args[4];
    Py_ssize_t start = prefetch_index_arg(args[1]), stop = prefetch_index_arg(args[2]);
    if (self->used < PREFETCH_MIN_KEYS || !PyList_CheckExact(requests) || !PyList_CheckExact(kv)
            || start < 0)
        Py_RETURN_NONE;
    if (stop > PyList_GET_SIZE(requests))
        stop = PyList_GET_SIZE(requests);
    if (stop > start + PREFETCH_MAX)
        stop = start + PREFETCH_MAX;
    Py_buffer view;
    const uint64_t *words = NULL;
    Py_ssize_t nwords = 0;
    int have_view = PyObject_CheckBuffer(meta) && PyObject_GetBuffer(meta, &view, PyBUF_SIMPLE) == 0;
    if (have_view) {
        words = (const uint64_t *)view.buf;
        nwords = view.len / (Py_ssize_t)sizeof(uint64_t);
    }
    else {
        PyErr_Clear();
    }

    Slot *slots = self->slots;
    Py_ssize_t capacity = self->capacity, count = 0;
    Py_ssize_t at[PREFETCH_MAX];
    uintptr_t tags[PREFETCH_MAX];
    /* Stage 1: hash each key, fetch its home slot. */
    for (Py_ssize_t r = start; r < stop; r++) {
        PyObject *argv = PyList_GET_ITEM(requests, r);
        if (!PyList_CheckExact(argv) || PyList_GET_SIZE(argv) < 2)
            continue;
        PyObject *key = PyList_GET_ITEM(argv, 1);
        if (!PyBytes_CheckExact(key) || PyBytes_GET_SIZE(key) > PREFETCH_KEY_MAX)
            continue;
        Py_hash_t hash = PyObject_Hash(key);  /* bytes: computed in C, cached, never -1 */
        at[count] = home(hash, capacity);
        tags[count] = tag_of(hash);
        __builtin_prefetch(&slots[at[count]]);
        count++;
    }
    /* Stage 2: probe for a slot with the key's tag (not comparing keys: a tag that
     * matches another key wastes a fetch); fetch the key, its meta word, its kv slot. */
    Py_ssize_t kv_size = PyList_GET_SIZE(kv);
    PyObject **items = ((PyListObject *)kv)->ob_item;
    for (Py_ssize_t c = 0; c < count; c++) {
        Py_ssize_t i = at[c];
        at[c] = -1;
        for (int step = 0; step < PREFETCH_PROBE_MAX; step++) {
            uintptr_t word = slots[i].key;
            if (word == EMPTY)
                break;
            if ((word & ~PTR_MASK) == tags[c] && word != TOMB) {
                Py_ssize_t pos = (Py_ssize_t)(slots[i].code & POS_MASK);
                __builtin_prefetch(key_of(word));
                if (pos < nwords)
                    __builtin_prefetch(&words[pos]);
                if (2 * pos + 1 < kv_size) {
                    __builtin_prefetch(&items[2 * pos + 1]);
                    at[c] = 2 * pos + 1;
                }
                break;
            }
            if (++i == capacity)
                i = 0;
        }
    }
    /* Stage 3: fetch the values. */
    for (Py_ssize_t c = 0; c < count; c++) {
        if (at[c] >= 0)
            __builtin_prefetch(items[at[c]]);
    }
    if (have_view)
        PyBuffer_Release(&view);
    Py_RETURN_NONE;
}
