"""``prefetch(array, index)``: a hint to the CPU to bring ``array[index]`` into the cache (LLVM's
``llvm.prefetch``); no effect on results.  The simulation loop uses it on the pages that
events a few steps ahead will touch: on a large node those loads miss the cache, one after the
other, and the CPU otherwise waits for each (see ``run.run_workload``)."""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.extending import intrinsic
from numba.np.arrayobj import make_array


@intrinsic
def prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and isinstance(idx, types.Integer)):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        aryty, idxty = sig.args
        ary = make_array(aryty)(context, builder, args[0])
        ptr = builder.gep(ary.data, [context.cast(builder, args[1], idxty, types.intp)])
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, cgutils.voidptr_t), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.none(arr, idx), codegen
