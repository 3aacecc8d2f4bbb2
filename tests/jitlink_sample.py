"""A small call graph for tests/test_jitlink.py (run in subprocesses with their own cache)."""

from reclaimctl.jitlink import linked_jit

jit = linked_jit()


@jit
def leaf(x):
    return x * 3 + 1


@jit
def dead(x):
    # calls leaf only on a path the optimiser proves impossible: its optimised code does not refer
    # to leaf, although leaf is one of its callees (this once left leaf unlinked in top)
    if x > 5 and x < 3:
        return leaf(x)
    return x


@jit
def mid(x, both):
    if both:
        return leaf(x) + leaf(x + 1)
    return leaf(x)


@jit
def check(x):
    if x < 0:
        raise ValueError("negative", x)  # numba emits a helper for the run-time args in each module
    return x


@jit
def check_again(x):
    if x < -100:
        raise ValueError("very negative", x)
    return x


@jit
def top(x):
    # dead first: its callee leaf comes before mid in the link order
    return dead(x) + mid(x, True) + check(x) - check_again(x)


@jit
def show(a, k):
    if k < 0:
        print("show", a[:2])  # boxing an array reads the function's Environment
    return a[0] + k


@jit
def top_show(a, k):
    return show(a, k) * 2
