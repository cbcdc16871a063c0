/* KeyIndex: a hash table from bytes keys to int codes: the keyspace's index (database.py)
 * and a large sorted set's member -> slot (types/zset.py).
 *
 * A dict costs a key about 74 bytes beyond the key itself (its share of the entries and
 * indices arrays, 42 bytes at 1M keys, and the code's int object, 32): this table keeps
 * the code unboxed beside the key, in one 16-byte slot {key pointer and hash tag, code},
 * open addressing with linear probing, at most 3/4 full and half full after it grows.
 *
 * A slot's first word is 0 (empty), 1 (a tombstone: a deleted key's slot, which a probe
 * steps over) or the key's address with 16 bits of its hash in the top bits, which
 * 64-bit user-space addresses do not use on x86-64 and aarch64 (checked on insert): a
 * probe compares those bits before it reads a key, so a miss or a collision costs no
 * access to the key (on other machines every probe reads the key). A key's home slot is (hash * capacity) >> 64, which lets the
 * capacity be any size.
 *
 * A small table (up to SYNC_RESIZE_MAX slots) is rebuilt at once when it grows or shrinks.
 * A larger one is rebuilt incrementally, as Redis's dict rehashes: the new table takes
 * the inserts while the old one's slots are moved to it, REHASH_STEP of them with each
 * key added or removed, READ_STEP with each lookup while no iterator lives (and more by
 * ``rehash``, the server's cron with activerehashing), so
 * no single write pays for copying the whole index (a million keys took 50-165 ms at
 * once). A moved slot becomes a tombstone in the old table, whose probes go on past it;
 * a key is in exactly one of the two tables, and a lookup that misses the new one looks
 * in the old. A rebuild asked while one runs finishes that one first.
 *
 * Keys are bytes only (TypeError otherwise), compared by content; codes are ints in
 * [0, 2^63). The table holds strong references to its keys and nothing else, which can
 * form no cycle: it is not tracked by the garbage collector. Iteration is in slot order
 * (by hash, not insertion order); a size change during it raises RuntimeError, as dict's.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define EMPTY ((uintptr_t)0)
#define TOMB ((uintptr_t)1)
#define MIN_CAPACITY 8
#define SYNC_RESIZE_MAX 16384  /* slots (256 KB): a larger table is rebuilt incrementally */
#define REHASH_STEP 16         /* old slots moved with each key added or removed */
#define READ_STEP 4            /* old slots moved with each lookup (none under an iterator) */

/* Elsewhere than 64-bit x86-64 and aarch64 there is no tag: a probe reads each key. */
#if (defined(__x86_64__) || defined(__aarch64__)) && UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
#define TAG_SHIFT 48
#define PTR_MASK ((((uintptr_t)1) << TAG_SHIFT) - 1)
#define TAG_OF(hash) (((uintptr_t)(hash) & 0xFFFF) << TAG_SHIFT)
#else
#define PTR_MASK (~(uintptr_t)0)
#define TAG_OF(hash) ((void)(hash), (uintptr_t)0)
#endif

typedef struct {
    uintptr_t key;  /* EMPTY, TOMB, or PyBytesObject * | tag << TAG_SHIFT */
    int64_t code;
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    Py_ssize_t capacity;  /* slots; 0 with no table */
    Py_ssize_t used;      /* live keys, in both tables */
    Py_ssize_t filled;    /* live keys and tombstones of slots */
    uint64_t version;     /* changes when a key comes or goes or moves, for iterators */
    /* While a rebuild runs: the table being emptied into slots (NULL otherwise), its
     * size, its live keys, and the next of its slots to move. */
    Slot *old;
    Py_ssize_t old_capacity;
    Py_ssize_t old_used;
    Py_ssize_t moved;
    Py_ssize_t iterators;  /* live iterators: ``rehash`` moves nothing under one */
} KeyIndex;

static PyTypeObject KeyIndexType;
static PyTypeObject KeyIndexIterType;

static inline Py_ssize_t home(Py_hash_t hash, Py_ssize_t capacity)
{
#ifdef __SIZEOF_INT128__
    return (Py_ssize_t)(((unsigned __int128)(uint64_t)hash * (uint64_t)capacity) >> 64);
#else
    return (Py_ssize_t)(((uint64_t)(uint32_t)((uint64_t)hash >> 32) * (uint64_t)capacity) >> 32);
#endif
}

static inline uintptr_t tag_of(Py_hash_t hash)
{
    return TAG_OF(hash);
}

static inline PyObject *key_of(uintptr_t word)
{
    return (PyObject *)(word & PTR_MASK);
}

static inline int is_live(uintptr_t word)
{
    return word > TOMB;
}

/* The key's hash, or -1 with TypeError for anything but bytes. */
static inline Py_hash_t hash_key(PyObject *key)
{
    if (!PyBytes_Check(key)) {
        PyErr_Format(PyExc_TypeError, "KeyIndex keys are bytes, not %.200s",
                     Py_TYPE(key)->tp_name);
        return -1;
    }
    return PyObject_Hash(key);
}

static inline int same_key(PyObject *stored, PyObject *key)
{
    Py_ssize_t n = PyBytes_GET_SIZE(key);
    return stored == key || (PyBytes_GET_SIZE(stored) == n
                             && memcmp(PyBytes_AS_STRING(stored), PyBytes_AS_STRING(key), n) == 0);
}

/* The key's slot, or -1. */
static inline Slot *find_in(Slot *slots, Py_ssize_t capacity, PyObject *key, Py_hash_t hash)
{
    if (capacity == 0)
        return NULL;
    uintptr_t tag = tag_of(hash);
    Py_ssize_t i = home(hash, capacity);
    for (;;) {
        uintptr_t word = slots[i].key;
        if (word == EMPTY)
            return NULL;
        if ((word & ~PTR_MASK) == tag && word != TOMB && same_key(key_of(word), key))
            return &slots[i];
        if (++i == capacity)
            i = 0;
    }
}

/* The key's slot, in the new table or (during a rebuild) the old one; NULL if absent. */
static inline Slot *find(KeyIndex *self, PyObject *key, Py_hash_t hash)
{
    Slot *found = find_in(self->slots, self->capacity, key, hash);
    if (found == NULL && self->old != NULL)
        found = find_in(self->old, self->old_capacity, key, hash);
    return found;
}

static inline int in_old(KeyIndex *self, Slot *slot)
{
    return self->old != NULL && slot >= self->old && slot < self->old + self->old_capacity;
}

static inline int over_full(Py_ssize_t filled, Py_ssize_t capacity)
{
    return filled * 4 > capacity * 3;
}

/* Put a key known to be in neither table into slots (its first empty or tombstone slot
 * from home), copying its slot word and code. */
static void place(KeyIndex *self, uintptr_t word, int64_t code, Py_hash_t hash)
{
    Slot *slots = self->slots;
    Py_ssize_t capacity = self->capacity;
    Py_ssize_t i = home(hash, capacity);
    while (is_live(slots[i].key)) {
        if (++i == capacity)
            i = 0;
    }
    if (slots[i].key == EMPTY)
        self->filled++;
    slots[i].key = word;
    slots[i].code = code;
}

static void end_rebuild(KeyIndex *self)
{
    PyMem_Free(self->old);
    self->old = NULL;
    self->old_capacity = self->old_used = self->moved = 0;
}

/* Move up to ``count`` of the old table's slots to the new one (the whole rest with a
 * negative count); ends the rebuild when the old table is empty. */
static void move_slots(KeyIndex *self, Py_ssize_t count)
{
    Slot *old = self->old;
    if (old == NULL)
        return;
    Py_ssize_t j = self->moved, stop = self->old_capacity;
    if (count >= 0 && count < stop - j)
        stop = j + count;
    for (; j < stop && self->old_used > 0; j++) {
        /* Each key's hash is read from its object: fetch a few slots ahead. */
        if (j + 8 < self->old_capacity && is_live(old[j + 8].key))
            __builtin_prefetch(key_of(old[j + 8].key));
        uintptr_t word = old[j].key;
        if (!is_live(word))
            continue;
        place(self, word, old[j].code, PyObject_Hash(key_of(word)));  /* cached by bytes */
        old[j].key = TOMB;  /* the old table's probes go on past it */
        old[j].code = 0;
        self->old_used--;
    }
    self->moved = j;
    self->version++;
    if (self->old_used == 0 || j == self->old_capacity)
        end_rebuild(self);
}

/* How many old slots a key added or removed moves: REHASH_STEP, or more when the new
 * table's room (the keys it takes before it is three quarters full, less the old
 * table's keys still to come) would not last the rest of the rebuild at that pace; all
 * of them when it has no room left. A rebuild thus always ends before the new table
 * must grow. */
static Py_ssize_t rehash_step(KeyIndex *self)
{
    Py_ssize_t left = self->old_capacity - self->moved;
    Py_ssize_t room = self->capacity / 4 * 3 - self->filled - self->old_used;
    if (room <= 1)
        return -1;
    Py_ssize_t step = (left + room - 2) / (room - 1);
    return step > REHASH_STEP ? step : REHASH_STEP;
}

/* A lookup's share of a rebuild, before it looks (a move would change the slot found);
 * none while an iterator lives, which a lookup must not disturb. */
static inline void read_step(KeyIndex *self)
{
    if (self->old != NULL && self->iterators == 0)
        move_slots(self, READ_STEP);
}

/* find, after the lookup's share of a rebuild. */
static inline Slot *find_stepping(KeyIndex *self, PyObject *key, Py_hash_t hash)
{
    read_step(self);
    return find(self, key, hash);
}

/* Rebuild the table with ``capacity`` slots (dropping tombstones): at once for a small
 * table, else incrementally (move_slots); -1 on MemoryError, the table unchanged. */
static int resize(KeyIndex *self, Py_ssize_t capacity)
{
    if (capacity < MIN_CAPACITY)
        capacity = MIN_CAPACITY;
    if ((size_t)capacity > PY_SSIZE_T_MAX / sizeof(Slot)) {
        PyErr_NoMemory();
        return -1;
    }
    Slot *slots = PyMem_Calloc((size_t)capacity, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    move_slots(self, -1);  /* a rebuild under way ends first */
    self->old = self->slots;
    self->old_capacity = self->capacity;
    self->old_used = self->used;
    self->moved = 0;
    self->slots = slots;
    self->capacity = capacity;
    self->filled = 0;
    self->version++;
    if (self->old == NULL)
        self->old_capacity = self->old_used = 0;
    else if (self->old_capacity <= SYNC_RESIZE_MAX || self->old_used == 0)
        move_slots(self, -1);
    else
        move_slots(self, rehash_step(self));
    return 0;
}

static int check_code(PyObject *value, int64_t *code)
{
    if (!PyLong_Check(value)) {
        PyErr_Format(PyExc_TypeError, "KeyIndex codes are int, not %.200s",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow || v < 0) {
        PyErr_SetString(PyExc_OverflowError, "KeyIndex codes are in [0, 2**63)");
        return -1;
    }
    *code = (int64_t)v;
    return 0;
}

/* Set key -> code (a new reference to key is taken if it is new); 0, or -1 on error.
 * With ``only_new`` an existing key keeps its code, which goes to *existing. */
static int store(KeyIndex *self, PyObject *key, Py_hash_t hash, int64_t code,
                 int only_new, int64_t *existing)
{
    if (((uintptr_t)key & ~PTR_MASK) != 0) {
        PyErr_SetString(PyExc_SystemError, "KeyIndex: a key's address uses the top 16 bits");
        return -1;
    }
    int full = self->capacity == 0 || over_full(self->filled + 1, self->capacity);
    /* A key still in the old table is updated there; in a full table, a key already
     * there is looked for first, so that updating it does not make the table grow. */
    Slot *found = self->old != NULL ? find_in(self->old, self->old_capacity, key, hash) : NULL;
    if (found == NULL && full)
        found = find_in(self->slots, self->capacity, key, hash);
    if (found != NULL) {
        if (only_new)
            *existing = found->code;
        else
            found->code = code;
        return 0;
    }
    if (full && resize(self, (self->used + 1) * 2) < 0)
        return -1;
    Slot *slots = self->slots;
    Py_ssize_t capacity = self->capacity;
    uintptr_t tag = tag_of(hash);
    Py_ssize_t i = home(hash, capacity), tomb = -1;
    for (;;) {
        uintptr_t word = slots[i].key;
        if (word == EMPTY)
            break;
        if (word == TOMB) {
            if (tomb < 0)
                tomb = i;
        }
        else if ((word & ~PTR_MASK) == tag && same_key(key_of(word), key)) {
            if (only_new)
                *existing = slots[i].code;
            else
                slots[i].code = code;
            return 0;
        }
        if (++i == capacity)
            i = 0;
    }
    if (tomb >= 0)
        i = tomb;
    else
        self->filled++;
    Py_INCREF(key);
    slots[i].key = (uintptr_t)key | tag;
    slots[i].code = code;
    self->used++;
    self->version++;
    if (only_new)
        *existing = code;
    if (self->old != NULL)
        move_slots(self, rehash_step(self));
    return 0;
}

/* Empty a live slot of either table: a tombstone, or empty when the next slot is empty
 * (new table only), with the tombstones just before it; the key's reference is dropped.
 * May shrink the table. */
static void remove_slot(KeyIndex *self, Slot *slot)
{
    PyObject *key = key_of(slot->key);
    slot->code = 0;
    if (in_old(self, slot)) {
        slot->key = TOMB;
        self->old_used--;
        self->used--;
        self->version++;
        if (self->old_used == 0)
            end_rebuild(self);
        else
            move_slots(self, rehash_step(self));
        Py_DECREF(key);
        return;
    }
    Slot *slots = self->slots;
    Py_ssize_t capacity = self->capacity;
    Py_ssize_t i = slot - slots;
    Py_ssize_t next = i + 1 == capacity ? 0 : i + 1;
    if (slots[next].key == EMPTY) {
        slots[i].key = EMPTY;
        self->filled--;
        for (;;) {
            i = i == 0 ? capacity - 1 : i - 1;
            if (slots[i].key != TOMB)
                break;
            slots[i].key = EMPTY;
            self->filled--;
        }
    }
    else {
        slots[i].key = TOMB;
    }
    self->used--;
    self->version++;
    if (self->used == 0) {
        end_rebuild(self);
        PyMem_Free(self->slots);
        self->slots = NULL;
        self->capacity = self->filled = 0;
    }
    else if (self->old != NULL) {
        move_slots(self, rehash_step(self));
    }
    else if (self->used * 8 < capacity && capacity > MIN_CAPACITY) {
        if (resize(self, self->used * 2) < 0)
            PyErr_Clear();  /* no memory for a smaller table: keep the larger one */
    }
    Py_DECREF(key);
}

/* --- the mapping protocol --- */

static PyObject *KeyIndex_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if ((kwds != NULL && PyDict_GET_SIZE(kwds) != 0) || PyTuple_GET_SIZE(args) != 0) {
        PyErr_SetString(PyExc_TypeError, "KeyIndex() takes no arguments");
        return NULL;
    }
    KeyIndex *self = (KeyIndex *)type->tp_alloc(type, 0);
    return (PyObject *)self;
}

static void drop_keys(Slot *slots, Py_ssize_t capacity)
{
    for (Py_ssize_t i = 0; i < capacity; i++) {
        if (is_live(slots[i].key))
            Py_DECREF(key_of(slots[i].key));
    }
    PyMem_Free(slots);
}

static void KeyIndex_dealloc(KeyIndex *self)
{
    Slot *slots = self->slots, *old = self->old;
    Py_ssize_t capacity = self->capacity, old_capacity = self->old_capacity;
    self->slots = self->old = NULL;
    self->capacity = self->used = self->filled = self->old_capacity = self->old_used = 0;
    drop_keys(slots, capacity);
    drop_keys(old, old_capacity);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t KeyIndex_length(KeyIndex *self)
{
    return self->used;
}

static PyObject *KeyIndex_subscript(KeyIndex *self, PyObject *key)
{
    Py_hash_t hash = hash_key(key);
    if (hash == -1)
        return NULL;
    Slot *found = find_stepping(self, key, hash);
    if (found == NULL) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return PyLong_FromLongLong(found->code);
}

static int KeyIndex_ass_subscript(KeyIndex *self, PyObject *key, PyObject *value)
{
    Py_hash_t hash = hash_key(key);
    if (hash == -1)
        return -1;
    if (value == NULL) {
        Slot *found = find(self, key, hash);
        if (found == NULL) {
            PyErr_SetObject(PyExc_KeyError, key);
            return -1;
        }
        remove_slot(self, found);
        return 0;
    }
    int64_t code;
    if (check_code(value, &code) < 0)
        return -1;
    return store(self, key, hash, code, 0, NULL);
}

static int KeyIndex_contains(KeyIndex *self, PyObject *key)
{
    Py_hash_t hash = hash_key(key);
    if (hash == -1)
        return -1;
    return find_stepping(self, key, hash) != NULL;
}

/* --- methods --- */

/* get's and pop's arguments (key[, default]): the key's slot in *slot (NULL if absent);
 * -1 with TypeError for a wrong count or key. */
static int find_arg(KeyIndex *self, const char *name, PyObject *const *args,
                    Py_ssize_t nargs, Slot **slot)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "%s expected 1 or 2 arguments, got %zd", name, nargs);
        return -1;
    }
    Py_hash_t hash = hash_key(args[0]);
    if (hash == -1)
        return -1;
    *slot = find_stepping(self, args[0], hash);
    return 0;
}

static PyObject *KeyIndex_get(KeyIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    Slot *found;
    if (find_arg(self, "get", args, nargs, &found) < 0)
        return NULL;
    if (found != NULL)
        return PyLong_FromLongLong(found->code);
    PyObject *dflt = nargs == 2 ? args[1] : Py_None;
    Py_INCREF(dflt);
    return dflt;
}

static PyObject *KeyIndex_pop(KeyIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    Slot *found;
    if (find_arg(self, "pop", args, nargs, &found) < 0)
        return NULL;
    if (found == NULL) {
        if (nargs == 2) {
            Py_INCREF(args[1]);
            return args[1];
        }
        PyErr_SetObject(PyExc_KeyError, args[0]);
        return NULL;
    }
    PyObject *code = PyLong_FromLongLong(found->code);
    if (code != NULL)
        remove_slot(self, found);
    return code;
}

static PyObject *KeyIndex_setdefault(KeyIndex *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "setdefault expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    Py_hash_t hash = hash_key(args[0]);
    if (hash == -1)
        return NULL;
    int64_t code, existing;
    if (check_code(args[1], &code) < 0 || store(self, args[0], hash, code, 1, &existing) < 0)
        return NULL;
    return PyLong_FromLongLong(existing);
}

static PyObject *KeyIndex_update(KeyIndex *self, PyObject *pairs)
{
    PyObject *it = PyObject_GetIter(pairs);
    if (it == NULL)
        return NULL;
    PyObject *item;
    Py_ssize_t n = 0;
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *fast = PySequence_Fast(item, "");
        Py_DECREF(item);
        if (fast == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "cannot convert KeyIndex update sequence element #%zd to a sequence", n);
            goto error;
        }
        if (PySequence_Fast_GET_SIZE(fast) != 2) {
            PyErr_Format(PyExc_ValueError,
                         "KeyIndex update sequence element #%zd has length %zd; 2 is required",
                         n, PySequence_Fast_GET_SIZE(fast));
            Py_DECREF(fast);
            goto error;
        }
        PyObject *key = PySequence_Fast_GET_ITEM(fast, 0);
        int64_t code;
        Py_hash_t hash = hash_key(key);
        int failed = hash == -1 || check_code(PySequence_Fast_GET_ITEM(fast, 1), &code) < 0
                     || store(self, key, hash, code, 0, NULL) < 0;
        Py_DECREF(fast);
        if (failed)
            goto error;
        n++;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
error:
    Py_DECREF(it);
    return NULL;
}

/* --- keyspace reads: read and prefetch, and the keyspace layout they know --- */

#include "_keyindex_read.h"

static PyObject *KeyIndex_sizeof(KeyIndex *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t((Py_ssize_t)sizeof(KeyIndex)
                              + (self->capacity + self->old_capacity) * (Py_ssize_t)sizeof(Slot));
}

/* rehash(slots): move up to that many of a rebuild's old slots (none while an iterator
 * lives: it walks both tables); whether a rebuild is still under way. */
static PyObject *KeyIndex_rehash(KeyIndex *self, PyObject *arg)
{
    Py_ssize_t count = PyLong_AsSsize_t(arg);
    if (count == -1 && PyErr_Occurred())
        return NULL;
    if (count < 0) {
        PyErr_SetString(PyExc_ValueError, "rehash: a count of slots >= 0");
        return NULL;
    }
    if (self->iterators == 0 && count > 0)
        move_slots(self, count);
    return PyBool_FromLong(self->old != NULL);
}

static PyObject *KeyIndex_rehashing(KeyIndex *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->old != NULL);
}

static PyObject *KeyIndex_capacity(KeyIndex *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->capacity);
}

/* --- iteration: keys, or (key, code) pairs --- */

typedef struct {
    PyObject_HEAD
    KeyIndex *table;  /* NULL once exhausted */
    Py_ssize_t next;
    uint64_t version;
    int items;
} KeyIndexIter;

static PyObject *make_iter(KeyIndex *self, int items)
{
    KeyIndexIter *it = PyObject_New(KeyIndexIter, &KeyIndexIterType);
    if (it == NULL)
        return NULL;
    Py_INCREF(self);
    self->iterators++;
    it->table = self;
    it->next = 0;
    it->version = self->version;
    it->items = items;
    return (PyObject *)it;
}

static PyObject *KeyIndex_iter(KeyIndex *self)
{
    return make_iter(self, 0);
}

static PyObject *KeyIndex_items(KeyIndex *self, PyObject *Py_UNUSED(ignored))
{
    return make_iter(self, 1);
}

/* An iterator's table let go: exhausted, or the iterator freed. */
static void release_table(KeyIndexIter *it)
{
    KeyIndex *table = it->table;
    it->table = NULL;
    table->iterators--;
    Py_DECREF(table);
}

static void KeyIndexIter_dealloc(KeyIndexIter *it)
{
    if (it->table != NULL)
        release_table(it);
    PyObject_Free(it);
}

/* The slot at an iterator's position: the old table's slots come first (during a
 * rebuild), then the new table's. */
static inline Slot *iter_slot(KeyIndex *table, Py_ssize_t i)
{
    return i < table->old_capacity ? &table->old[i] : &table->slots[i - table->old_capacity];
}

static PyObject *KeyIndexIter_next(KeyIndexIter *it)
{
    KeyIndex *table = it->table;
    if (table == NULL)
        return NULL;
    if (it->version != table->version) {
        PyErr_SetString(PyExc_RuntimeError, "KeyIndex changed size during iteration");
        return NULL;
    }
    Py_ssize_t end = table->old_capacity + table->capacity;
    for (Py_ssize_t i = it->next; i < end; i++) {
        Slot *slot = iter_slot(table, i);
        if (is_live(slot->key)) {
            it->next = i + 1;
            PyObject *key = key_of(slot->key);
            if (!it->items)
                return Py_NewRef(key);
            PyObject *code = PyLong_FromLongLong(slot->code);
            if (code == NULL)
                return NULL;
            PyObject *pair = PyTuple_New(2);
            if (pair == NULL) {
                Py_DECREF(code);
                return NULL;
            }
            PyTuple_SET_ITEM(pair, 0, Py_NewRef(key));
            PyTuple_SET_ITEM(pair, 1, code);
            return pair;
        }
    }
    release_table(it);
    return NULL;
}

static PyObject *KeyIndexIter_length_hint(KeyIndexIter *it, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t left = 0;
    KeyIndex *table = it->table;
    if (table != NULL && it->version == table->version) {
        for (Py_ssize_t i = it->next; i < table->old_capacity + table->capacity; i++)
            left += is_live(iter_slot(table, i)->key);
    }
    return PyLong_FromSsize_t(left);
}

static PyMethodDef KeyIndexIter_methods[] = {
    {"__length_hint__", (PyCFunction)KeyIndexIter_length_hint, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KeyIndexIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "redslot.node.base._keyindex.KeyIndexIterator",
    .tp_basicsize = sizeof(KeyIndexIter),
    .tp_dealloc = (destructor)KeyIndexIter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)KeyIndexIter_next,
    .tp_methods = KeyIndexIter_methods,
};

static PyMappingMethods KeyIndex_as_mapping = {
    .mp_length = (lenfunc)KeyIndex_length,
    .mp_subscript = (binaryfunc)KeyIndex_subscript,
    .mp_ass_subscript = (objobjargproc)KeyIndex_ass_subscript,
};

static PySequenceMethods KeyIndex_as_sequence = {
    .sq_contains = (objobjproc)KeyIndex_contains,
};

static PyMethodDef KeyIndex_methods[] = {
    {"get", (PyCFunction)(void (*)(void))KeyIndex_get, METH_FASTCALL,
     "get(key, default=None): the key's code, or default."},
    {"pop", (PyCFunction)(void (*)(void))KeyIndex_pop, METH_FASTCALL,
     "pop(key[, default]): remove the key and return its code."},
    {"setdefault", (PyCFunction)(void (*)(void))KeyIndex_setdefault, METH_FASTCALL,
     "setdefault(key, code): the key's code, storing code first if the key is absent."},
    {"update", (PyCFunction)KeyIndex_update, METH_O,
     "update(pairs): store each (key, code) of an iterable."},
    {"read", (PyCFunction)(void (*)(void))KeyIndex_read, METH_FASTCALL,
     "read(key, kv, meta, clock): the keyspace's read of a key: None if absent, its code\n"
     "if it has a TTL's bits (above the low 32), else kv[2 * code + 1], the clock put in\n"
     "meta[code]'s low 24 bits first (unless negative)."},
    {"prefetch", (PyCFunction)(void (*)(void))KeyIndex_prefetch, METH_FASTCALL,
     "prefetch(requests, start, stop, kv, meta): fetch into the cache what the\n"
     "lookups of requests[start:stop]'s argv[1] will read (a hint: changes nothing)."},
    {"rehash", (PyCFunction)KeyIndex_rehash, METH_O,
     "rehash(slots): move up to that many slots of a rebuild under way (none while an\n"
     "iterator lives); whether one is still under way."},
    {"items", (PyCFunction)KeyIndex_items, METH_NOARGS,
     "An iterator over (key, code) pairs."},
    {"__sizeof__", (PyCFunction)KeyIndex_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef KeyIndex_getset[] = {
    {"capacity", (getter)KeyIndex_capacity, NULL, "Slots of the (new) table.", NULL},
    {"rehashing", (getter)KeyIndex_rehashing, NULL, "Whether a rebuild is under way.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject KeyIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "redslot.node.base._keyindex.KeyIndex",
    .tp_doc = "A hash table from bytes keys to int codes in [0, 2**63), for the keyspace.",
    .tp_basicsize = sizeof(KeyIndex),
    .tp_dealloc = (destructor)KeyIndex_dealloc,
    .tp_as_sequence = &KeyIndex_as_sequence,
    .tp_as_mapping = &KeyIndex_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_iter = (getiterfunc)KeyIndex_iter,
    .tp_methods = KeyIndex_methods,
    .tp_getset = KeyIndex_getset,
    .tp_new = KeyIndex_new,
};

static struct PyModuleDef keyindex_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "redslot.node.base._keyindex",
    .m_doc = "An index of bytes keys to int codes, in 16 bytes a slot.",
    .m_size = -1,
};

/* An int attribute of the module; -1 on error. */
static int add_int(PyObject *module, const char *name, long long value)
{
    PyObject *v = PyLong_FromLongLong(value);
    if (v == NULL)
        return -1;
    int rc = PyModule_AddObjectRef(module, name, v);
    Py_DECREF(v);
    return rc;
}

PyMODINIT_FUNC PyInit__keyindex(void)
{
    if (PyType_Ready(&KeyIndexType) < 0 || PyType_Ready(&KeyIndexIterType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&keyindex_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "KeyIndex", (PyObject *)&KeyIndexType) < 0
            || add_int(module, "POS_MASK", (long long)POS_MASK) < 0
            || add_int(module, "CLOCK_MASK", (long long)CLOCK_MASK) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
