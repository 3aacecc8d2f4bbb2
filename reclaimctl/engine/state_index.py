"""Element access on the state's arrays (``st.pg_flags[page]``, ``st.sc[s, SC_TARGET] = v``),
typed and lowered directly.

numba types ``a[i]`` by trying every ``getitem``/``setitem`` template it knows (typed lists,
dicts, strings, records ... about ten, each twice) until the array one matches, once when it infers
types and again when it lowers, and lowers it through its general indexing code (slices, ellipses,
broadcasting).  The engine does this some 5 000 times: a seventh of its first compilation.  The
templates below are tried first (they are specific to the CPU target) and match only a
:class:`~reclaimctl.engine.state.StateArray` indexed by as many integers as it has dimensions;
anything else (a slice, a view) falls through to numba's own.  The code is numba's: the item
pointer (negative indices wrap, as in Python; bounds are checked only under
``NUMBA_BOUNDSCHECK``), then a load or a store converting the value to the array's type.
"""

from __future__ import annotations

import operator
from typing import Any

from numba.core import cgutils, types
from numba.core.imputils import lower_builtin
from numba.core.typing.templates import AbstractTemplate, infer_global, signature
from numba.np.arrayobj import (
    fix_integer_index,
    getitem_array_tuple,
    getitem_arraynd_intp,
    load_item,
    make_array,
    setitem_array,
    store_item,
)

from .state import StateArray


def _integer_index(ary: Any, idx: Any) -> tuple[Any, ...] | None:
    """The index types when ``idx`` picks one element of a StateArray ``ary``, else None."""
    if not isinstance(ary, StateArray):
        return None
    idxs = tuple(idx.types) if isinstance(idx, types.BaseTuple) else (idx,)
    if len(idxs) != ary.ndim or not all(isinstance(t, types.Integer) for t in idxs):
        return None
    return idxs


@infer_global(operator.getitem)
class StateArrayGetItem(AbstractTemplate):
    metadata = {"target": "cpu"}  # noqa: RUF012 (numba reads it off the class)

    def generic(self, args: Any, kws: Any) -> Any:
        if kws or len(args) != 2 or _integer_index(*args) is None:
            return None
        ary, idx = args
        return signature(ary.dtype, ary, idx)


@infer_global(operator.setitem)
class StateArraySetItem(AbstractTemplate):
    metadata = {"target": "cpu"}  # noqa: RUF012

    def generic(self, args: Any, kws: Any) -> Any:
        if kws or len(args) != 3 or _integer_index(args[0], args[1]) is None:
            return None
        ary, idx, val = args
        if not ary.mutable or isinstance(val, types.Array) or not self.context.can_convert(val, ary.dtype):
            return None  # numba's own template says why
        return signature(types.none, ary, idx, val)


def _item_pointer(context: Any, builder: Any, aryty: Any, tys: tuple[Any, ...], idxty: Any, ary: Any,
                  idx: Any) -> Any:
    arr = make_array(aryty)(context, builder, ary)
    vals = cgutils.unpack_tuple(builder, idx, len(tys)) if isinstance(idxty, types.BaseTuple) else [idx]
    shape = cgutils.unpack_tuple(builder, arr.shape, aryty.ndim)
    # each index on its own, as numba does: a signed one wraps if negative, an unsigned one never
    inds = [fix_integer_index(context, builder, t, v, n) for v, t, n in zip(vals, tys, shape, strict=True)]
    return cgutils.get_item_pointer2(
        context, builder, data=arr.data, shape=shape, strides=cgutils.unpack_tuple(builder, arr.strides, aryty.ndim),
        layout=aryty.layout, inds=inds, wraparound=False, boundscheck=context.enable_boundscheck)


@lower_builtin(operator.getitem, StateArray, types.Integer)
@lower_builtin(operator.getitem, StateArray, types.BaseTuple)
def state_array_getitem(context: Any, builder: Any, sig: Any, args: Any) -> Any:
    aryty, idxty = sig.args
    tys = _integer_index(aryty, idxty)
    if tys is None:  # a view (typed by numba's own template): numba's code
        general = getitem_array_tuple if isinstance(idxty, types.BaseTuple) else getitem_arraynd_intp
        return general(context, builder, sig, args)
    return load_item(context, builder, aryty, _item_pointer(context, builder, aryty, tys, idxty, *args))


@lower_builtin(operator.setitem, StateArray, types.Integer, types.Any)
@lower_builtin(operator.setitem, StateArray, types.BaseTuple, types.Any)
def state_array_setitem(context: Any, builder: Any, sig: Any, args: Any) -> None:
    aryty, idxty, valty = sig.args
    tys = _integer_index(aryty, idxty)
    if tys is None or isinstance(valty, types.Array):
        setitem_array(context, builder, sig, args)
        return
    ary, idx, val = args
    val = context.cast(builder, val, valty, aryty.dtype)
    store_item(context, builder, aryty, val, _item_pointer(context, builder, aryty, tys, idxty, ary, idx))
