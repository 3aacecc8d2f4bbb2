"""Compile a call graph of jitted functions in linear time: the engine's numba linking strategy.

numba builds one code library per compiled function and links into it the finished libraries of
every function it calls, so each library holds its whole call tree; every library is then
optimised and turned into machine code in full.  A function deep in the engine is optimised and
compiled once for each function above it: first compilation time grows with the call graph's depth
times its size (4 to 5 minutes for the engine on 2 cores; about a minute here).

Here a function compiled because another jitted function calls it (an *internal* one) keeps only
its own code: it is optimised and compiled alone, its callees left as symbols that the JIT resolves
against their own, already loaded, libraries.  A function compiled because Python calls it (a
*top-level* one: ``engine_entry``, a parser kernel, a function a test calls) links the code of its
whole call tree once, flattened, with its small functions marked always-inline, and gets the full
optimisation across it.  Only top-level functions are written to the disk cache; they hold
everything they need, so a warm start loads a few files and compiles nothing.  Calls compile their
callee for plain argument types (see :func:`linked_jit`), not once per constant passed.

Written against numba's ``CPUCodeLibrary`` (numba 0.68; ``pyproject.toml`` pins the minor version).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import llvmlite.binding as ll
from numba import njit
from numba.core import codegen, types
from numba.core.caching import FunctionCache
from numba.core.compiler import Compiler

_depth = threading.local()


class EngineLibrary(codegen.JITCodeLibrary):
    """A code library that links its callees only when it is a top-level one (see module doc)."""

    def __init__(self, cg: Any, name: str, toplevel: bool) -> None:
        super().__init__(cg, name)
        self.toplevel = toplevel
        self._callees: list[Any] = []

    def add_linking_library(self, library: Any) -> None:
        if self.toplevel:
            super().add_linking_library(library)
        else:
            library._ensure_finalized()  # its symbols are loaded before this library's code
            self._callees.append(library)

    def finalize(self) -> None:
        if self.toplevel:
            self._link_call_tree()
        else:
            for lib in self._callees:
                self._reload_init.update(lib._reload_init)
        super().finalize()  # links nothing more: an internal library keeps its own code only

    def _link_call_tree(self) -> None:
        """Link every internal library of the call tree once, then the other libraries.

        Own code goes in with its functions still external, so nothing is dropped whatever the
        order (LLVM links a ``linkonce_odr`` function only if something already refers to it);
        once everything is in, those functions become ``linkonce_odr`` for the optimiser to drop
        what it has inlined everywhere.  The other libraries come last, when the code that calls
        them is in."""
        libs = _flatten(self._linking_libraries)
        self._linking_libraries = []
        dest = self._final_module
        own: set[str] = set()
        for lib in libs:
            self._reload_init.update(lib._reload_init)
            if _internal(lib):
                mod = lib._final_module.clone()
                for fn in mod.functions:
                    if fn.is_declaration or fn.linkage != ll.Linkage.external:
                        continue
                    if fn.name.startswith("_ZN"):  # a compiled function: one library defines it
                        own.add(fn.name)
                    else:  # a helper numba emits into every module that needs it
                        fn.linkage = "linkonce_odr"
                dest.link_in(mod)
        for lib in libs:
            if not _internal(lib):
                dest.link_in(lib._get_module_for_linking(), preserve=True)
        missing = sorted(fn.name for fn in dest.functions if fn.is_declaration and fn.name.startswith("_ZN"))
        if missing:  # a compiled function (numba mangles them all as _ZN...) left undefined
            raise RuntimeError(f"{self.name}: functions not linked: {missing[:3]}")
        for name in own:
            fn = dest.get_function(name)
            fn.linkage = "linkonce_odr"
            if (not name.startswith("_ZN7cpython") and b"noinline" not in set(fn.attributes)
                    and _instructions(fn) <= INLINE_INSTRUCTIONS):
                fn.add_function_attribute("alwaysinline")

    def _optimize_final_module(self) -> None:
        if self.toplevel:
            super()._optimize_final_module()
        # an internal library's code runs only if Python calls it before it is linked anywhere:
        # its function-level passes are enough; the top-level library optimises it in place

    def _verify_declare_only_symbols(self) -> None:
        if self.toplevel:
            super()._verify_declare_only_symbols()
        # an internal library declares its callees; the JIT resolves them to their libraries


# Functions of at most this many LLVM instructions are always inlined into a top-level library:
# 1.4x the engine's throughput for no longer a first compile (at 320 the compile time doubles).
INLINE_INSTRUCTIONS = 250


def _internal(lib: Any) -> bool:
    return isinstance(lib, EngineLibrary) and not lib.toplevel


def _instructions(fn: Any) -> int:
    return sum(1 for block in fn.blocks for _ in block.instructions)


def _flatten(libraries: list[Any]) -> list[Any]:
    """Every library of the call tree once: internal ones for their own code, any other library
    (numba's, a top-level one, one loaded from the cache) for its complete linking module."""
    seen: set[int] = set()
    out = []
    stack = list(reversed(libraries))
    while stack:
        lib = stack.pop()
        if id(lib) in seen:
            continue
        seen.add(id(lib))
        out.append(lib)
        if _internal(lib):
            stack.extend(reversed(lib._callees))
    return out


class EngineCompiler(Compiler):
    """numba's nopython pipeline, with an :class:`EngineLibrary` chosen by who asked for it."""

    def __init__(self, typingctx: Any, targetctx: Any, library: Any, args: Any, return_type: Any,
                 flags: Any, locals: Any) -> None:  # noqa: A002 (numba's parameter name)
        super().__init__(typingctx, targetctx, library, args, return_type, flags, locals)
        self._toplevel = getattr(_depth, "n", 0) == 0

    def compile_extra(self, func: Callable[..., Any]) -> Any:
        if self.state.library is None:
            lib = EngineLibrary(self.state.targetctx.codegen(), func.__qualname__, self._toplevel)
            lib.enable_object_caching()
            self.state.library = lib
        _depth.n = getattr(_depth, "n", 0) + 1
        try:
            return super().compile_extra(func)
        finally:
            _depth.n -= 1


class EngineCache(FunctionCache):
    """The disk cache keeps top-level functions only: an internal one is not complete on its own."""

    def save_overload(self, sig: Any, data: Any) -> None:
        if not _internal(data.library):
            super().save_overload(sig, data)


def _widened(t: Any) -> Any:
    """The argument type a call compiles for: no literal values; integers that fit, as int64."""
    t = types.unliteral(t)
    if isinstance(t, types.Integer) and (t.signed or t.bitwidth < 64):
        return types.int64
    return t


def linked_jit(widen_ints: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``njit(**options)`` compiled with :class:`EngineCompiler`, cached by :class:`EngineCache`.

    Calls from jitted code compile the callee for non-literal argument types (and, with
    ``widen_ints``, for int64 in place of narrower integers, which are cast at the call): numba
    would otherwise compile a function anew for each combination of constants and integer widths
    its callers pass (the engine had 332 specialisations of about 200 functions)."""

    def wrap(fn: Callable[..., Any]) -> Any:
        disp = njit(pipeline_class=EngineCompiler, no_cfunc_wrapper=True, **options)(fn)
        disp._cache = EngineCache(disp.py_func)  # njit(cache=True) would build a FunctionCache first
        norm = _widened if widen_ints else types.unliteral
        call_template = disp.get_call_template

        def get_call_template(args: Any, kws: Any) -> Any:
            return call_template(tuple(norm(a) for a in args), {k: norm(v) for k, v in kws.items()})

        disp.get_call_template = get_call_template
        return disp

    return wrap
