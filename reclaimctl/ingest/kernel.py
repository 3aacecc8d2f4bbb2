"""The hot loop: one pass over a chunk of trace text, lines to typed row arrays (numba).

Every line is accounted for in ``counters`` (see :data:`COUNTERS`).  A line with a header
(``comm-pid [cpu] flags ts: event: payload`` in ftrace, trace-cmd and perf script shapes) becomes a
row: known events get their labels parsed into ``vals`` slots as the schema tables say, unknown
events keep their name and payload range.  Strings are interned per chunk (the chunk buffer holds
their bytes); Python turns the intern table into the dictionary of the chunk's string columns.

Nothing here knows an event by name: the compiled schema tables (:mod:`.tables`) drive it.
"""

from __future__ import annotations

import numpy as np

from .. import jitcache  # noqa: F401  (sets the cache directory before anything is compiled)
from ..jitlink import linked_jit

jit = linked_jit(nogil=True, _nrt=False)
jit_inline = linked_jit(nogil=True, _nrt=False, inline="always")
jit_nrt = linked_jit(nogil=True)  # gather allocates its output

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)
MISSING = np.int64(-(2**63))  # a slot with no value
MISSING32 = np.int32(-(2**31))

# counters[i]
C_PARSED, C_UNKNOWN, C_MALFORMED = 0, 1, 2
C_BLANK, C_COMMENT, C_HEADER, C_CALLCHAIN, C_STACK, C_LOST_MARK, C_CONT = 3, 4, 5, 6, 7, 8, 9
C_LOST_EVENTS, C_INCOMPLETE, C_LINES = 10, 11, 12
COUNTERS = (
    "parsed", "unknown_event", "malformed", "blank", "comment", "header", "callchain", "stacktrace",
    "lost_marker", "continuation", "lost_events", "incomplete", "lines",
)

# malformed reasons (mal[:, 3]); mal[:, 4] carries the label index where it applies
M_NO_HEADER, M_TIMESTAMP, M_VALUE, M_DANGLING, M_TRUNCATED, M_TOO_MANY_WORDS = 1, 2, 3, 4, 5, 6

# row_i32 columns / row_i64 columns
R_EV, R_CPU, R_PID, R_TGID, R_COMM, R_IRQ = 0, 1, 2, 3, 4, 5
R_TS, R_LINE, R_PSTART, R_PEND, R_MASK = 0, 1, 2, 3, 4

# status returned by parse_chunk
S_DONE, S_ROWS_FULL, S_INTERN_FULL = 0, 1, 2

EV_FUNCTION = -2  # an ftrace function-tracer line (no "event:" token)
T_I32, T_I64, T_PTR, T_STR = 0, 1, 2, 3


@jit_inline
def _b(buf, i):
    """buf[i] for an index known to be >= 0: an unsigned index spares numba's negative-index
    wraparound on every byte read (measured: twice the throughput of the scanning loops)."""
    return buf[np.uint64(i)]


@jit_inline
def _ws(c: int) -> bool:
    return c == 32 or c == 9 or c == 13


@jit_inline
def _digit(c: int) -> bool:
    return 48 <= c <= 57


@jit_inline
def _hexval(c: int) -> int:
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@jit_inline
def fasthash(buf, s, e):
    """64-bit hash of buf[s:e], eight bytes a step (tables.fasthash is its Python twin)."""
    h = FNV_OFFSET ^ np.uint64(e - s)
    i = s
    while i + 8 <= e:
        w = (np.uint64(_b(buf, i)) | (np.uint64(_b(buf, i + 1)) << np.uint64(8))
             | (np.uint64(_b(buf, i + 2)) << np.uint64(16)) | (np.uint64(_b(buf, i + 3)) << np.uint64(24))
             | (np.uint64(_b(buf, i + 4)) << np.uint64(32)) | (np.uint64(_b(buf, i + 5)) << np.uint64(40))
             | (np.uint64(_b(buf, i + 6)) << np.uint64(48)) | (np.uint64(_b(buf, i + 7)) << np.uint64(56)))
        h = (h ^ w) * FNV_PRIME
        h ^= h >> np.uint64(32)
        i += 8
    while i < e:
        h = (h ^ np.uint64(_b(buf, i))) * FNV_PRIME
        i += 1
    return h


@jit_inline
def intern(buf, s, e, it_hash, it_id, str_pos, state):
    """Id of the string buf[s:e] in this chunk's table; -1 when the table is full."""
    h = fasthash(buf, s, e)
    if h == 0:
        h = np.uint64(1)
    m = it_hash.shape[0] - 1
    i = np.int64(h & np.uint64(m))
    n = e - s
    while it_hash[i] != 0:
        if it_hash[i] == h:
            k = it_id[i]
            if str_pos[k, 1] == n:  # equal 64-bit hash and length: the same string
                return k
        i = (i + 1) & m
    k = state[0]
    if k >= str_pos.shape[0] or 2 * k >= it_hash.shape[0]:
        return -1
    it_hash[i] = h
    it_id[i] = k
    str_pos[k, 0] = s
    str_pos[k, 1] = n
    state[0] = k + 1
    return k


@jit_inline
def parse_int(buf, s, e):
    """(ok, value) for decimal or 0x-hex, optional sign, optional kB suffix."""
    if s >= e:
        return False, np.int64(0)
    neg = False
    c = _b(buf, s)
    if c == 45 or c == 43:
        neg = c == 45
        s += 1
    if e - s >= 2 and e > s + 1 and _b(buf, e - 2) == 107 and _b(buf, e - 1) == 66:  # "kB"
        e -= 2
    if s >= e:
        return False, np.int64(0)
    v = np.int64(0)
    if e - s > 2 and _b(buf, s) == 48 and (_b(buf, s + 1) == 120 or _b(buf, s + 1) == 88):
        if e - s - 2 > 16:
            return False, v
        u = np.uint64(0)
        for i in range(s + 2, e):
            d = _hexval(_b(buf, i))
            if d < 0:
                return False, v
            u = u * np.uint64(16) + np.uint64(d)
        v = np.int64(u)
    else:
        if e - s > 19:
            return False, v
        for i in range(s, e):
            c = _b(buf, i)
            if not _digit(c):
                return False, v
            v = v * 10 + (c - 48)
    return True, -v if neg else v


@jit_inline
def parse_hex(buf, s, e):
    if e - s > 2 and _b(buf, s) == 48 and (_b(buf, s + 1) == 120 or _b(buf, s + 1) == 88):
        s += 2
    if s >= e or e - s > 16:
        return False, np.int64(0)
    u = np.uint64(0)
    for i in range(s, e):
        d = _hexval(_b(buf, i))
        if d < 0:
            return False, np.int64(0)
        u = u * np.uint64(16) + np.uint64(d)
    return True, np.int64(u)


@jit_inline
def _is_null(buf, s, e):
    # "(null)"
    return (e - s == 6 and _b(buf, s) == 40 and _b(buf, s + 1) == 110 and _b(buf, s + 2) == 117
            and _b(buf, s + 3) == 108 and _b(buf, s + 4) == 108 and _b(buf, s + 5) == 41)


@jit_inline
def store_value(buf, s, e, typ, row, slot, vals, it_hash, it_id, str_pos, state):
    """0 ok, 1 bad value, 2 intern table full."""
    if e > s and _b(buf, e - 1) == 44:  # trailing "," (compaction: zone_end=0x..., mode=)
        e -= 1
    if _is_null(buf, s, e):
        return 0
    if typ == T_STR:
        k = intern(buf, s, e, it_hash, it_id, str_pos, state)
        if k < 0:
            return 2
        vals[row, slot] = k
        return 0
    if typ == T_PTR:
        ok, v = parse_hex(buf, s, e)
    else:
        ok, v = parse_int(buf, s, e)
    if not ok:
        return 1
    vals[row, slot] = v
    return 0


@jit_inline
def _label_at(buf, p, e, ev, j, lab_bytes, lab_len):
    """End of label j of event ev if buf[p:] starts with it at a label boundary, else -1."""
    n = lab_len[ev, j]
    if e - p < n:
        return -1
    k = 0
    if p + ((n + 7) & ~7) <= buf.shape[0]:
        while k + 8 <= n:
            if _load8(buf, p + k) != _load8(lab_bytes[ev, j], k):
                return -1
            k += 8
        if k < n:
            m = (np.uint64(1) << np.uint64(8 * (n - k))) - np.uint64(1)
            if ((_load8(buf, p + k) ^ _load8(lab_bytes[ev, j], k)) & m) != 0:
                return -1
    else:
        for k in range(n):
            if _b(buf, p + k) != lab_bytes[ev, j, k]:
                return -1
    q = p + n
    if q == e or _b(buf, q) == 61 or _ws(_b(buf, q)) or lab_bytes[ev, j, n - 1] == 58:
        return q
    return -1


@jit_inline
def _load8(a, i):
    """Eight bytes of a from i, little-endian (LLVM makes it one unaligned load)."""
    i = np.uint64(i)
    return (np.uint64(a[i]) | (np.uint64(a[i + np.uint64(1)]) << np.uint64(8))
            | (np.uint64(a[i + np.uint64(2)]) << np.uint64(16)) | (np.uint64(a[i + np.uint64(3)]) << np.uint64(24))
            | (np.uint64(a[i + np.uint64(4)]) << np.uint64(32)) | (np.uint64(a[i + np.uint64(5)]) << np.uint64(40))
            | (np.uint64(a[i + np.uint64(6)]) << np.uint64(48)) | (np.uint64(a[i + np.uint64(7)]) << np.uint64(56)))


@jit_inline
def match_label(buf, p, e, ev, j_exp, lab_bytes, lab_len, n_lab):
    """(label index, end) of the label at buf[p:], trying the expected next label first."""
    if j_exp < n_lab[ev]:
        q = _label_at(buf, p, e, ev, j_exp, lab_bytes, lab_len)
        if q >= 0:
            return j_exp, q
    c = _b(buf, p)
    for j in range(n_lab[ev]):
        if j != j_exp and lab_bytes[ev, j, 0] == c:
            q = _label_at(buf, p, e, ev, j, lab_bytes, lab_len)
            if q >= 0:
                return j, q
    return -1, -1


@jit
def note_unknown_label(buf, s, e, ev, unk):
    """Remember a label the registry does not know (first place, count)."""
    hh = np.int64(fasthash(buf, s, e))
    for k in range(unk.shape[0]):
        if unk[k, 4] == 0:
            unk[k, 0] = hh
            unk[k, 1] = ev
            unk[k, 2] = s
            unk[k, 3] = e
            unk[k, 4] = 1
            return
        if unk[k, 0] == hh and unk[k, 1] == ev:
            unk[k, 4] += 1
            return


@jit_inline
def _skip_ws(buf, p, e):
    while p < e and _ws(_b(buf, p)):
        p += 1
    return p


@jit_inline
def _token(buf, p, e):
    """(end of the token at p, index of its first "=" or -1)."""
    eq = -1
    while p < e and not _ws(_b(buf, p)):
        if eq < 0 and _b(buf, p) == 61:
            eq = p
        p += 1
    return p, eq


@jit
def parse_payload(buf, p, e, ev, row, vals, with_pos, lab_bytes, lab_len, lab_slot, lab_type, lab_greedy,
                  n_lab, pos_slot, pos_type, n_pos, it_hash, it_id, str_pos, state, unk):
    """Parse the labels of event ``ev`` in buf[p:e] into vals[row].

    Returns (code, label mask, aux): code 0 ok, M_* for a malformed line, 99 intern table full.
    A label is followed by ``=value`` (``nid=0``), by a space and a value (prose:
    ``objects to shrink 123``, ``nid: 0``) or, when it ends in ``:``, by its value (``file-rss:0kB``).
    """
    mask = np.int64(0)
    if with_pos:
        for i in range(n_pos[ev]):
            while p < e and _ws(_b(buf, p)):
                p += 1
            if p >= e:
                break
            ts = p
            while p < e and not _ws(_b(buf, p)):
                p += 1
            te = p
            if pos_type[ev, i] == T_STR:  # "%pS" of a module symbol: "scan+0x0/0x80 [xfs]"
                q = p
                while q < e and _ws(_b(buf, q)):
                    q += 1
                if q < e and _b(buf, q) == 91:
                    while q < e and not _ws(_b(buf, q)):
                        q += 1
                    if _b(buf, q - 1) == 93:
                        p = q
                        te = q
            colon = _b(buf, te - 1) == 58
            ve = te - 1 if colon else te
            if ve > ts:
                r = store_value(buf, ts, ve, pos_type[ev, i], row, pos_slot[ev, i], vals,
                                it_hash, it_id, str_pos, state)
                if r == 2:
                    return 99, mask, 0
                if r == 1:
                    return M_VALUE, mask, 63
            if colon:
                break
    j_exp = 0
    skipped = 0  # words of no known label since the last value
    skip_s = 0
    while True:
        while p < e and _ws(_b(buf, p)):
            p += 1
        if p >= e:
            break
        j, q = match_label(buf, p, e, ev, j_exp, lab_bytes, lab_len, n_lab)
        if j < 0:  # a label the registry does not know, or a stray word
            ts = p
            p, eq = _token(buf, p, e)
            if eq >= 0:
                note_unknown_label(buf, ts, eq, ev, unk)
                skipped = 0
            else:
                if skipped == 0:
                    skip_s = ts
                skipped += 1
                if skipped > 6:
                    return M_TOO_MANY_WORDS, mask, 63
            continue
        if skipped > 0:
            note_unknown_label(buf, skip_s, p - 1, ev, unk)
            skipped = 0
        j_exp = j + 1
        if q < e and _b(buf, q) == 61:  # label=value
            vs = q + 1
        elif q < e and _ws(_b(buf, q)):  # prose: label value
            vs = q
            while vs < e and _ws(_b(buf, vs)):
                vs += 1
        else:  # "file-rss:0kB", or a label at the end of the line
            vs = q
        typ = lab_type[ev, j]
        if typ <= T_I64 and vs < e:  # the common case, a plain decimal: parse while scanning
            v = np.int64(0)
            d = vs
            neg = _b(buf, d) == 45
            if neg:
                d += 1
            d0 = d
            while d < e:
                c = _b(buf, d)
                if c < 48 or c > 57:
                    break
                v = v * 10 + (c - 48)
                d += 1
            if d > d0 and d - d0 <= 18 and (d == e or _ws(_b(buf, d))):
                vals[row, lab_slot[ev, j]] = -v if neg else v
                mask |= np.int64(1) << j
                p = d
                continue
        ve = vs
        while ve < e and not _ws(_b(buf, ve)):
            ve += 1
        p = ve
        if ve == vs:
            # "page= (null)"
            r0 = _skip_ws(buf, ve, e)
            r1 = _token(buf, r0, e)[0]
            if r1 > r0 and _is_null(buf, r0, r1):
                p = r1
                mask |= np.int64(1) << j
                continue
            if r0 >= e:
                return M_DANGLING, mask, j
            return M_VALUE, mask, j
        if lab_greedy[ev, j] != 0:  # a string value that may contain spaces (comm=)
            r0 = p
            while True:
                while r0 < e and _ws(_b(buf, r0)):
                    r0 += 1
                if r0 >= e:
                    break
                r1, eq = _token(buf, r0, e)
                if eq >= 0:
                    break
                ve = r1
                p = r1
                r0 = r1
        if typ == T_STR and _b(buf, ve - 1) == 58 and _b(buf, q) != 61:  # prose "bdi 8:0:"
            ve -= 1
        r = store_value(buf, vs, ve, typ, row, lab_slot[ev, j], vals, it_hash, it_id, str_pos, state)
        if r == 2:
            return 99, mask, 0
        if r == 1:
            return M_VALUE, mask, j
        mask |= np.int64(1) << j
    if skipped > 0:
        return M_DANGLING, mask, 63
    return 0, mask, 0


@jit
def find_newline(buf, w64, pos, n):
    """Index of the next "\n" at or after pos (n if none), eight bytes a step: ``w64`` is the
    buffer viewed as uint64 and a word holds a newline iff the has-zero-byte test of
    (word ^ 0x0a0a..) is non-zero (measured: 6 GB/s against 2 GB/s for the byte loop)."""
    while pos < n and (pos & 7) != 0:
        if _b(buf, pos) == 10:
            return pos
        pos += 1
    nw = n >> 3
    k = pos >> 3
    m1 = np.uint64(0x0101010101010101)
    m8 = np.uint64(0x8080808080808080)
    nl = np.uint64(0x0A0A0A0A0A0A0A0A)
    while k < nw:
        v = w64[np.uint64(k)] ^ nl
        if ((v - m1) & ~v & m8) != 0:
            q = k << 3
            while _b(buf, q) != 10:
                q += 1
            return q
        k += 1
    pos = max(pos, nw << 3)
    while pos < n:
        if _b(buf, pos) == 10:
            return pos
        pos += 1
    return n


@jit
def lookup_event(buf, s, e, ev_hash, ev_idx, ev_name, ev_name_len):
    """Event id of the name buf[s:e], or -1."""
    h = fasthash(buf, s, e)
    m = ev_hash.shape[0] - 1
    i = np.int64(h & np.uint64(m))
    n = e - s
    while ev_hash[i] != 0:
        if ev_hash[i] == h and ev_name_len[i] == n:  # 64-bit hash and length
            return ev_idx[i]
        i = (i + 1) & m
    return -1


@jit
def parse_header(buf, p, e):
    """Split a line header.  Returns ok, cpu, pid, tgid, comm_s, comm_e, irq_s, irq_e, ts_ok, ts,
    ev_s, ev_e (name without subsystem and colon, or ev_s == -1 for a function-trace line), pay_s."""
    fail = (False, 0, 0, MISSING32, 0, 0, -1, -1, False, MISSING, 0, 0, 0)
    # the [cpu] column: "[" digits "]" preceded by a space
    q = p
    cpu = 0
    r = 0
    while True:
        while q < e and _b(buf, q) != 91:
            q += 1
        if q >= e or q - p > 256:
            return fail
        r = q + 1
        cpu = 0
        nd = 0
        while r < e and _digit(_b(buf, r)):
            cpu = cpu * 10 + (_b(buf, r) - 48)
            r += 1
            nd += 1
        if nd > 0 and r < e and _b(buf, r) == 93 and q > p and _ws(_b(buf, q - 1)):
            break
        q += 1
    # before it: comm-pid, optional "( tgid)", or perf's "comm pid" / "comm pid/tid"
    a = q - 1
    while a >= p and _ws(_b(buf, a)):
        a -= 1
    tgid = MISSING32
    if a >= p and _b(buf, a) == 41:  # ")"
        b = a - 1
        while b >= p and _b(buf, b) != 40:
            b -= 1
        if b < p:
            return fail
        t = 0
        nd = 0
        for i in range(b + 1, a):
            c = _b(buf, i)
            if _digit(c):
                t = t * 10 + (c - 48)
                nd += 1
            elif not (_ws(c) or c == 45):
                return fail
        if nd > 0:
            tgid = np.int32(t)
        a = b - 1
        while a >= p and _ws(_b(buf, a)):
            a -= 1
    if a < p or not _digit(_b(buf, a)):
        return fail
    d_e = a + 1
    while a >= p and _digit(_b(buf, a)):
        a -= 1
    if d_e - (a + 1) > 9:
        return fail
    pid = 0
    for i in range(a + 1, d_e):
        pid = pid * 10 + (_b(buf, i) - 48)
    if a >= p and _b(buf, a) == 47:  # perf "pid/tid"
        a2 = a - 1
        while a2 >= p and _digit(_b(buf, a2)):
            a2 -= 1
        if a2 + 1 >= a or a - (a2 + 1) > 9:
            return fail
        t = 0
        for i in range(a2 + 1, a):
            t = t * 10 + (_b(buf, i) - 48)
        tgid = np.int32(t)
        a = a2
    if a < p:
        comm_s = p
        comm_e = p
    elif _b(buf, a) == 45:  # ftrace "comm-pid": the last "-" before the pid
        comm_s = p
        comm_e = a
    elif _ws(_b(buf, a)):  # perf "comm pid"
        comm_e = a
        while comm_e > p and _ws(_b(buf, comm_e - 1)):
            comm_e -= 1
        comm_s = p
    else:
        return fail
    # after "]": optional irq-info flags, then "seconds.fraction:"
    t = r + 1
    while t < e and _ws(_b(buf, t)):
        t += 1
    s0 = t
    while t < e and not _ws(_b(buf, t)):
        t += 1
    irq_s = -1
    irq_e = -1
    if t > s0 and _b(buf, t - 1) != 58:
        if t - s0 > 8:
            return fail
        irq_s = s0
        irq_e = t
        s0 = _skip_ws(buf, t, e)
        t = _token(buf, s0, e)[0]
    if t - s0 < 2 or _b(buf, t - 1) != 58:
        return fail
    # timestamp
    sec = np.int64(0)
    frac = np.int64(0)
    nfrac = 0
    i = s0
    nsec = 0
    while i < t - 1 and _digit(_b(buf, i)):
        sec = sec * 10 + (_b(buf, i) - 48)
        i += 1
        nsec += 1
    ts_ok = nsec > 0
    if i < t - 1 and _b(buf, i) == 46:
        i += 1
        while i < t - 1 and _digit(_b(buf, i)):
            if nfrac < 9:
                frac = frac * 10 + (_b(buf, i) - 48)
                nfrac += 1
            i += 1
    if i != t - 1:
        ts_ok = False
    while nfrac < 9:
        frac *= 10
        nfrac += 1
    ts = sec * 1000000000 + frac
    # event name token
    while t < e and _ws(_b(buf, t)):
        t += 1
    ev_s = t
    while t < e and not _ws(_b(buf, t)):
        t += 1
    ev_e = t
    if ev_e > ev_s and _b(buf, ev_e - 1) == 58:
        ev_e -= 1
        k = ev_e - 1
        while k > ev_s and _b(buf, k) != 58:  # "vmscan:mm_vmscan_lru_isolate" -> name part
            k -= 1
        if _b(buf, k) == 58:
            ev_s = k + 1
        pay = t
    else:  # function tracer: "shrink_node <-do_try_to_free_pages"
        pay = ev_s
        ev_s = -1
    while pay < e and _ws(_b(buf, pay)):
        pay += 1
    return True, cpu, pid, tgid, comm_s, comm_e, irq_s, irq_e, ts_ok, ts, ev_s, ev_e, pay


@jit
def _starts(buf, p, e, lits, lit_len, k):
    n = lit_len[k]
    if e - p < n:
        return False
    for i in range(n):
        if _b(buf, p + i) != lits[k, i]:
            return False
    return True


@jit
def classify_other(buf, p, e, indented, lits, lit_len, lost_cpu):
    """A line with no event header: (counter index or -1, lost events).

    ``lits[0]`` is "CPU:", ``lits[1]`` " [LOST ", the rest are prefixes of trace-cmd and perf
    header lines (see :data:`reclaimctl.ingest.tables.NON_EVENT_PREFIXES`).
    """
    if _starts(buf, p, e, lits, lit_len, 0):  # "CPU:6 [LOST 3 EVENTS]"
        i = p + lit_len[0]
        cpu = 0
        while i < e and _digit(_b(buf, i)):
            cpu = cpu * 10 + (_b(buf, i) - 48)
            i += 1
        if _starts(buf, i, e, lits, lit_len, 1):
            i += lit_len[1]
            n = np.int64(0)
            while i < e and _digit(_b(buf, i)):
                n = n * 10 + (_b(buf, i) - 48)
                i += 1
            if cpu < lost_cpu.shape[0]:
                lost_cpu[cpu] += n
            return C_LOST_MARK, n
    if _b(buf, p) == 61 and p + 1 < e and _b(buf, p + 1) == 62:  # " => func" (stacktrace)
        return C_STACK, 0
    for k in range(2, lits.shape[0]):
        if _starts(buf, p, e, lits, lit_len, k):
            return C_HEADER, 0
    if indented:  # perf callchain: "\t ffffffff81234567 shrink_node+0x12 ([kernel.kallsyms])"
        i = p
        while i < e and _hexval(_b(buf, i)) >= 0:
            i += 1
        if i > p and (i == e or _ws(_b(buf, i))):
            return C_CALLCHAIN, 0
    return -1, 0


@jit
def _record_malformed(mal, nmal, line, s, e, code, aux):
    """Keep the first malformed lines (line, byte range, reason, event*64+label); count them all."""
    if nmal < mal.shape[0]:
        mal[nmal, 0] = line
        mal[nmal, 1] = s
        mal[nmal, 2] = e
        mal[nmal, 3] = code
        mal[nmal, 4] = aux
    return nmal + 1


@jit
def _complete(mask, ev, var_mask, n_var):
    for v in range(n_var[ev]):
        if (mask & var_mask[ev, v]) == var_mask[ev, v]:
            return True
    return n_var[ev] == 0


@jit
def _remember_mask(mask, ev, seen, n_seen):
    for k in range(n_seen[ev]):
        if seen[ev, k] == mask:
            return
    if n_seen[ev] < seen.shape[1]:
        seen[ev, n_seen[ev]] = mask
        n_seen[ev] += 1


@jit
def parse_chunk(buf, w64, n, start, final, lits, lit_len,
                ev_hash, ev_idx, ev_name, ev_name_len, lab_bytes, lab_len, lab_slot, lab_type, lab_greedy, n_lab,
                pos_slot, pos_type, n_pos, n_slot, var_mask, n_var,
                row_i32, row_i64, vals, counters, mal, lost_cpu, unk, seen, n_seen, incomplete,
                it_hash, it_id, str_pos, state):
    """Parse buf[start:n].  Returns (status, stop offset, rows, lines)."""
    pos = start
    row = 0
    line = 0
    pending = -1  # row of a known event whose labels are incomplete (a wrapped line may follow)
    rows_cap = row_i32.shape[0]
    nmal = 0
    status = S_DONE
    while pos < n:
        if row >= rows_cap:
            status = S_ROWS_FULL
            break
        ls = pos
        le = find_newline(buf, w64, pos, n)
        nxt = le + 1 if le < n else le
        has_nl = le < n
        e = le
        while e > ls and (_ws(_b(buf, e - 1)) or _b(buf, e - 1) == 0):
            e -= 1
        p = ls
        while p < e and _ws(_b(buf, p)):
            p += 1
        line += 1
        if p >= e:
            counters[C_BLANK] += 1
            pos = nxt
            continue
        if _b(buf, p) == 35:  # "#"
            counters[C_COMMENT] += 1
            pos = nxt
            continue
        ok, cpu, pid, tgid, comm_s, comm_e, irq_s, irq_e, ts_ok, ts, ev_s, ev_e, pay = parse_header(buf, p, e)
        if ok:
            if pending >= 0:
                counters[C_INCOMPLETE] += 1
                incomplete[row_i32[pending, R_EV]] += 1
                pending = -1
            if not ts_ok:
                nmal = _record_malformed(mal, nmal, line, ls, e, M_TIMESTAMP, 0)
                counters[C_MALFORMED] += 1
                pos = nxt
                continue
            comm = intern(buf, comm_s, comm_e, it_hash, it_id, str_pos, state)
            irq = -1
            if irq_s >= 0:
                irq = intern(buf, irq_s, irq_e, it_hash, it_id, str_pos, state)
            if comm < 0 or (irq_s >= 0 and irq < 0):
                status = S_INTERN_FULL
                break
            ev = -1
            if ev_s >= 0:
                ev = lookup_event(buf, ev_s, ev_e, ev_hash, ev_idx, ev_name, ev_name_len)
            row_i32[row, R_CPU] = cpu
            row_i32[row, R_PID] = pid
            row_i32[row, R_TGID] = tgid
            row_i32[row, R_COMM] = comm
            row_i32[row, R_IRQ] = irq
            row_i64[row, R_TS] = ts
            row_i64[row, R_LINE] = line
            row_i64[row, R_PSTART] = pay
            row_i64[row, R_PEND] = e
            if ev < 0:
                name = EV_FUNCTION
                if ev_s >= 0:
                    name = intern(buf, ev_s, ev_e, it_hash, it_id, str_pos, state)
                    if name < 0:
                        status = S_INTERN_FULL
                        break
                row_i32[row, R_EV] = -1
                vals[row, 0] = name
                row_i64[row, R_MASK] = 0
                counters[C_UNKNOWN] += 1
                row += 1
                pos = nxt
                continue
            for k in range(n_slot[ev]):
                vals[row, k] = MISSING
            code, mask, aux = parse_payload(buf, pay, e, ev, row, vals, True, lab_bytes, lab_len, lab_slot, lab_type,
                                            lab_greedy, n_lab, pos_slot, pos_type, n_pos,
                                            it_hash, it_id, str_pos, state, unk)
            if code == 99:
                status = S_INTERN_FULL
                break
            if code == M_DANGLING and not has_nl and final:
                code = M_TRUNCATED
            if code != 0:
                nmal = _record_malformed(mal, nmal, line, ls, e, code, ev * 64 + (aux if aux >= 0 else 63))
                counters[C_MALFORMED] += 1
                pos = nxt
                continue
            row_i32[row, R_EV] = ev
            row_i64[row, R_MASK] = mask
            counters[C_PARSED] += 1
            if not _complete(mask, ev, var_mask, n_var):
                if not has_nl and final:  # the file ends inside this line
                    counters[C_PARSED] -= 1
                    counters[C_MALFORMED] += 1
                    nmal = _record_malformed(mal, nmal, line, ls, e, M_TRUNCATED, ev * 64 + 63)
                    pos = nxt
                    continue
                pending = row
            row += 1
            pos = nxt
            continue
        # no header: a known non-event line, the continuation of a wrapped line, or malformed
        kind, nlost = classify_other(buf, p, e, p > ls, lits, lit_len, lost_cpu)
        if kind >= 0:
            counters[kind] += 1
            counters[C_LOST_EVENTS] += nlost
            pos = nxt
            continue
        if pending >= 0:
            ev = row_i32[pending, R_EV]
            code, mask, aux = parse_payload(buf, p, e, ev, pending, vals, False, lab_bytes, lab_len, lab_slot, lab_type,
                                            lab_greedy, n_lab, pos_slot, pos_type, n_pos,
                                            it_hash, it_id, str_pos, state, unk)
            if code == 99:
                status = S_INTERN_FULL
                break
            if code == 0 and mask != 0:
                mask |= row_i64[pending, R_MASK]
                row_i64[pending, R_MASK] = mask
                counters[C_CONT] += 1
                if _complete(mask, ev, var_mask, n_var):
                    pending = -1
                pos = nxt
                continue
        nmal = _record_malformed(mal, nmal, line, ls, e, M_NO_HEADER, 0)
        counters[C_MALFORMED] += 1
        pos = nxt
    if status == S_DONE and pending >= 0:
        counters[C_INCOMPLETE] += 1
        incomplete[row_i32[pending, R_EV]] += 1
    # label sets per event (for telling the kernel version)
    for r in range(row):
        ev = row_i32[r, R_EV]
        if ev >= 0:
            _remember_mask(row_i64[r, R_MASK], ev, seen, n_seen)
    counters[C_LINES] += line
    state[1] = nmal
    return status, pos, row, line


@jit_nrt
def gather(buf, starts, lengths, total):
    """Concatenate buf[starts[i]:starts[i]+lengths[i]] (the data buffer of a string array)."""
    out = np.empty(total, np.uint8)
    o = 0
    for i in range(starts.shape[0]):
        s = starts[i]
        for j in range(lengths[i]):
            out[o + j] = _b(buf, s + j)
        o += lengths[i]
    return out


@jit
def scatter(row_i32, row_i64, vals, nrows, offsets, counts, fill, slot_n, slot_kind, slot_pos, off64, off32, offstr,
            keep64, keep32, tmp, flat64, flat32, flatstr, nulls):
    """Reorder rows by event into column-major arrays, every event's columns contiguous.

    Event ``k`` (unknown events: the last ``k``) owns rows ``offsets[k]:offsets[k+1]`` of
    ``keep64`` (ts, line), ``keep32`` (cpu, pid, tgid) and ``tmp`` (comm id, irq id, payload
    start, payload end).  Its slot of kind 0 (int64, pointers), 1 (int32) or 2 (string id) at
    position q within its kind lands in ``flat64``/``flat32``/``flatstr`` from
    ``offX[k] + q * counts[k]``: the flat arrays hold exactly the event columns, so the Arrow
    arrays that wrap them keep no unused memory alive.  ``nulls[k, s]`` counts missing values of
    slot ``s``; ``nulls[k, -1]`` and ``nulls[k, -2]`` missing tgid and irq flags.
    """
    last = nulls.shape[1] - 1
    for r in range(nrows):
        ev = row_i32[r, R_EV]
        k = ev if ev >= 0 else offsets.shape[0] - 2
        j = fill[k]
        fill[k] = j + 1
        i = offsets[k] + j
        keep64[0, i] = row_i64[r, R_TS]
        keep64[1, i] = row_i64[r, R_LINE]
        keep32[0, i] = row_i32[r, R_CPU]
        keep32[1, i] = row_i32[r, R_PID]
        t = row_i32[r, R_TGID]
        keep32[2, i] = t
        if t == MISSING32:
            nulls[k, last] += 1
        tmp[0, i] = row_i32[r, R_COMM]
        q = row_i32[r, R_IRQ]
        tmp[1, i] = q
        if q < 0:
            nulls[k, last - 1] += 1
        tmp[2, i] = row_i64[r, R_PSTART]
        tmp[3, i] = row_i64[r, R_PEND]
        c = counts[k]
        for s in range(slot_n[k]):
            v = vals[r, s]
            kind = slot_kind[k, s]
            at = slot_pos[k, s] * c + j
            if v == MISSING:
                nulls[k, s] += 1
                if kind == 1:
                    flat32[off32[k] + at] = MISSING32
                    continue
            if kind == 0:
                flat64[off64[k] + at] = v
            elif kind == 1:
                flat32[off32[k] + at] = np.int32(v)
            else:
                flatstr[offstr[k] + at] = v


@jit
def row_stats(row_i32, row_i64, nrows, cpu_seen, task_keys, task_counts, out):
    """Time span, CPUs and events per (comm id, pid) of the rows; out = [ts_min, ts_max, tasks].

    Returns False when the task table is too small (the caller grows it and calls again)."""
    lo = row_i64[0, R_TS]
    hi = lo
    m = task_keys.shape[0] - 1
    ntask = 0
    last = np.int64(-1)
    last_slot = 0
    for r in range(nrows):
        ts = row_i64[r, R_TS]
        if ts < lo:
            lo = ts
        if ts > hi:
            hi = ts
        c = row_i32[r, R_CPU]
        if c < cpu_seen.shape[0]:
            cpu_seen[c] = 1
        key = (np.int64(row_i32[r, R_COMM]) << 32) | np.int64(row_i32[r, R_PID])
        if key == last:
            task_counts[last_slot] += 1
            continue
        i = ((key * np.int64(0x5851F42D4C957F2D)) >> 20) & m
        while task_counts[i] != 0 and task_keys[i] != key:
            i = (i + 1) & m
        if task_counts[i] == 0:
            ntask += 1
            if 2 * ntask > task_keys.shape[0]:
                return False
            task_keys[i] = key
        task_counts[i] += 1
        last = key
        last_slot = i
    out[0] = lo
    out[1] = hi
    out[2] = ntask
    return True


@jit
def scan_block(buf, w64, start, n):
    """(number of "\n", whether a 0xA0 byte occurs) in buf[start:n], eight bytes a step.

    The line count lets the next block be numbered before this one is parsed (so blocks are
    parsed on any thread); 0xA0 is the second byte of a no-break space from HTML-mail pastes."""
    total = 0
    a0 = np.uint64(0)
    has_a0 = False
    while start < n and (start & 7) != 0:
        c = _b(buf, start)
        if c == 10:
            total += 1
        elif c == 0xA0:
            has_a0 = True
        start += 1
    nw = n >> 3
    nl = np.uint64(0x0A0A0A0A0A0A0A0A)
    nb = np.uint64(0xA0A0A0A0A0A0A0A0)
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)
    ones = np.uint64(0x0101010101010101)
    for k in range(start >> 3, nw):
        w = w64[np.uint64(k)]
        v = w ^ nl
        # a byte of v is zero iff the high bit of ((v & 0x7f..) + 0x7f..) | v is clear
        t = ~(((v & low7) + low7) | v | low7)
        total += np.int64(((t >> np.uint64(7)) * ones) >> np.uint64(56))
        u = w ^ nb
        a0 |= ~(((u & low7) + low7) | u | low7)
    has_a0 = has_a0 or a0 != 0
    for i in range(max(nw << 3, start), n):
        c = _b(buf, i)
        if c == 10:
            total += 1
        elif c == 0xA0:
            has_a0 = True
    return total, has_a0
