"""Compile a call graph of jitted functions in linear time: the engine's numba linking strategy.

numba builds one code library per compiled function and links into it the finished libraries of
every function it calls, so each library holds its whole call tree; every library is then
optimised and turned into machine code in full.  A function deep in the engine is optimised and
compiled once for each function above it: first compilation time grows with the call graph's depth
times its size (4 to 5 minutes for the engine on 2 cores; under half a minute here).

Here a function compiled because another jitted function calls it (an *internal* one) keeps only
its own code, in LLVM IR: no machine code and no Python wrapper are made for it, since nothing but
jitted code calls it.  A function compiled because Python calls it (a *top-level* one:
``engine_entry``, a parser kernel, a function a test calls) links the code of its whole call tree
once, flattened, with its small functions marked always-inline, and gets the full optimisation
across it.  Only top-level functions are written to the disk cache; they hold
everything they need, so a warm start loads a few files and compiles nothing.  Calls compile their
callee for plain argument types (see :func:`linked_jit`), not once per constant passed.  Should
Python later call a function compiled as internal, it is compiled again, as a top-level one.

Written against numba's ``CPUCodeLibrary`` (numba 0.68; ``pyproject.toml`` pins the minor version).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import llvmlite.binding as ll
from numba import njit
from numba.core import codegen, funcdesc, sigutils, types
from numba.core.caching import FunctionCache
from numba.core.compiler import Compiler, DefaultPassBuilder, _LowerResult
from numba.core.compiler_lock import global_compiler_lock
from numba.core.compiler_machinery import register_pass
from numba.core.environment import lookup_environment
from numba.core.typed_passes import NativeLowering

_depth = threading.local()


class EngineLibrary(codegen.JITCodeLibrary):
    """A code library that links its callees only when it is a top-level one (see module doc)."""

    def __init__(self, cg: Any, name: str, toplevel: bool) -> None:
        super().__init__(cg, name)
        self.toplevel = toplevel
        self._callees: list[Any] = []
        # Environments of the functions whose code this library holds, kept alive by it: numba's
        # own registry of them is weak, and only the top-level function's compile result holds its
        self._envs: list[Any] = []

    def add_linking_library(self, library: Any) -> None:
        if not self.toplevel:
            self._callees.append(library)
        elif _internal(library):  # its IR is linked in: it needs no machine code of its own
            self._linking_libraries.append(library)
        else:
            super().add_linking_library(library)

    def finalize(self) -> None:
        if self.toplevel:
            self._link_call_tree()
        else:  # only if numba's own code links it (see module doc): machine code for its callees first
            for lib in self._callees:
                lib._ensure_finalized()
                self._reload_init.update(lib._reload_init)
        super().finalize()  # links nothing more: an internal library keeps its own code only
        self._set_environments()

    def _set_environments(self) -> None:
        """Point the Environment globals of the library's functions at their Environments, as numba
        does for a library loaded from the cache: a function needs its own to raise an exception
        with run-time arguments or box a value, and numba sets only the top-level function's."""
        engine = self._codegen._engine
        envs = {env.env_name: env for env in self._envs}
        for gv in self._final_module.global_variables:
            if gv.name.startswith("_ZN08NumbaEnv"):
                env = envs[gv.name] if gv.name in envs else lookup_environment(gv.name)
                if env is not None and engine.get_global_value_address(gv.name):
                    self._codegen.set_env(gv.name, env)

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
                self._envs.extend(lib._envs)
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
            if b"noinline" not in set(fn.attributes) and _instructions(fn) <= INLINE_INSTRUCTIONS:
                fn.add_function_attribute("alwaysinline")

    def _optimize_final_module(self) -> None:
        if self.toplevel:
            super()._optimize_final_module()
        # an internal library gets machine code only if numba's own code links it (it runs unlinked
        # then): its function-level passes are enough; a top-level library optimises it in place

    def _verify_declare_only_symbols(self) -> None:
        if self.toplevel:
            super()._verify_declare_only_symbols()
        # an internal library declares its callees; the JIT resolves them to their libraries


# Functions of at most this many LLVM instructions (counted after numba's function passes) are always
# inlined into a top-level library: 1.4x the engine's throughput for no longer a first compile.  At
# 250, four writeback helpers called from many places are inlined everywhere: the engine's optimised
# code grows from 54k to 92k lines and its optimisation and code generation take 1.6x as long.
INLINE_INSTRUCTIONS = 230


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


class _InternalEntry:
    """What stands for an internal function's compiled entry point: numba keys the function's
    implementation for jitted callers by it.  Python never gets it (see :func:`linked_jit`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<internal {self.name}>"


@register_pass(mutates_CFG=True, analysis_only=False)
class EngineLowering(NativeLowering):
    """numba's lowering; for an internal function, the LLVM IR only: no Python wrapper, no machine
    code (they were a fifth of the engine's first compile)."""

    _name = "engine_lowering"

    def run_pass(self, state: Any) -> bool:
        library = state.library
        if not _internal(library):
            return super().run_pass(state)
        ctx = state.targetctx
        library._reload_init.update(state.reload_init)
        fndesc = funcdesc.PythonFunctionDescriptor.from_specialized_function(
            state.func_ir, state.typemap, state.return_type, state.calltypes, mangler=ctx.mangler,
            inline=state.flags.forceinline, noalias=state.flags.noalias,
            abi_tags=[state.flags.get_mangle_string()])
        with ctx.push_code_library(library):
            lower = self.lowering_class(ctx, library, fndesc, state.func_ir, metadata=state.metadata)
            lower.lower()
        library._envs.append(lower.env)
        entry = _InternalEntry(fndesc.qualname)
        ctx.insert_user_function(entry, fndesc, [library])  # how jitted callers find the code
        state.reload_init.extend(library._reload_init)
        state["cr"] = _LowerResult(fndesc, lower.call_helper, cfunc=entry, env=lower.env)
        state.metadata["llvm_pass_timings"] = library.recorded_timings
        return True


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

    def define_pipelines(self) -> list[Any]:
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.passes = [(EngineLowering, d) if p is NativeLowering else (p, d) for p, d in pm.passes]
        pm.finalize()
        return [pm]


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
    its callers pass (the engine had 332 specialisations of about 200 functions).

    An internal overload is kept out of the dispatcher's table of entry points (it has none); when
    Python calls it, it is dropped and the function compiled again, as a top-level one.  Its code
    and Environment live on in the top-level libraries that linked it.  ``get_overload`` still
    returns an internal overload's placeholder entry (numba's lowering of jitted calls keys on it)."""

    def wrap(fn: Callable[..., Any]) -> Any:
        disp = njit(pipeline_class=EngineCompiler, no_cfunc_wrapper=True, **options)(fn)
        disp._cache = EngineCache(disp.py_func)  # njit(cache=True) would build a FunctionCache first
        norm = _widened if widen_ints else types.unliteral
        call_template = disp.get_call_template

        def get_call_template(args: Any, kws: Any) -> Any:
            return call_template(tuple(norm(a) for a in args), {k: norm(v) for k, v in kws.items()})

        disp.get_call_template = get_call_template
        compile_, add_overload = disp.compile, disp.add_overload

        def compile(sig: Any) -> Any:  # noqa: A001 (the dispatcher's method name)
            with global_compiler_lock:
                if getattr(_depth, "n", 0) == 0:  # Python asks: an internal overload will not do
                    args = tuple(sigutils.normalize_signature(sig)[0])
                    cres = disp.overloads.get(args)
                    if cres is not None and _internal(cres.library):
                        del disp.overloads[args]
                        disp.targetctx.remove_user_function(cres.entry_point)
                return compile_(sig)

        def add_overload_(cres: Any) -> None:
            if _internal(cres.library):  # for jitted callers only: not in the table Python calls by
                disp.overloads[tuple(cres.signature.args)] = cres
            else:
                add_overload(cres)

        disp.compile = compile
        disp.add_overload = add_overload_
        return disp

    return wrap
