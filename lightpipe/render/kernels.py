"""How the renderer runs its kernels: eager PyTorch (the reference), native C, or compiled.

The renderer calls its pure tensor functions through a `Kernels`: plain (eager PyTorch); with
`native` (the default on CPU where the extension is built, `settings.render.native`) the hot
ones run as C loops instead (`native`, `csrc/`); or compiled by Inductor
(`settings.render.compile`), which fuses each function's gathers and elementwise ops into one
loop. All three give the same bits. The kernels only use ops that Inductor's CPU code
computes exactly as ATen does: IEEE +, -, *, /, rsqrt (an exact sqrt then a division), floor,
min/max, integer ops, gathers; no FMA contraction (Inductor compiles with -ffp-contract=off) and
no `torch.sqrt` (ATen's CPU sqrt goes through MKL's not-correctly-rounded VML). A test renders
every feature both ways and compares the bytes.

Only CPU kernels are compiled: on CUDA, Inductor emits Triton code whose division, rsqrt and
FMA fusion may round differently from ATen's kernels, and no GPU was at hand to verify byte
identity, so CUDA always runs eager (which is launch-bound there, not arithmetic-bound).

Compiling takes a while on first use (C++ compilation, about a minute per kernel set on two
cores); Inductor caches the result on disk (`TORCHINDUCTOR_CACHE_DIR`, default under /tmp), so
later processes on the machine start in seconds. Shapes are traced as dynamic: no recompilation
per video.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

_COMPILED: dict[Callable, Callable] = {}


@dataclass(frozen=True)
class Kernels:
    """How to run the renderer's kernels; `rows` is the table layout compiled and native kernels
    prefer. With `native`, shading and the camera response run in `native` (C) and the other
    kernels eagerly."""

    compiled: bool = False
    native: bool = False

    def __call__(self, fn: Callable) -> Callable:
        if not self.compiled:
            return fn
        compiled = _COMPILED.get(fn)
        if compiled is None:
            _configure_dynamo()
            compiled = _COMPILED[fn] = torch.compile(fn, dynamic=True, fullgraph=True)
        return compiled

    @property
    def rows(self) -> bool:
        return self.compiled or self.native


EAGER = Kernels()


def _configure_dynamo() -> None:
    """Trace every size as its own symbol. With duck sizing, dims that happen to be equal at the
    first call (4 frames per chunk and 4 parts, say) share a symbol and the kernel is retraced
    for the next video; enough of those and Dynamo silently falls back to eager."""
    import torch._dynamo.config
    import torch.fx.experimental._config

    torch.fx.experimental._config.use_duck_shape = False
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 32)
