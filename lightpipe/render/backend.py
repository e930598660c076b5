"""The kernel switch: which implementation runs each of the renderer's kernels.

Three backends, one interface; the renderer and its parts call `backend.fill_zbuffer(...)`,
`backend.shade_frame(...)` and so on, and never ask which backend they hold:
- `Backend` (EAGER), eager PyTorch: the reference, which defines every pixel.
- `Compiled` (COMPILED), the same tensor functions compiled by Inductor
  (`settings.render.compile`), which fuses each function's gathers and elementwise ops into
  one loop.
- `Native` (NATIVE), the default on CPU where the C library is built: the z-buffer fill, the
  shadow moments, occlusion's inverse depth, silhouette anti-aliasing, per-pixel shading,
  the camera response, optical flow and object coordinates (`motion`) run as C loops
  (`native`, `csrc/`); the other tensor functions (camera space, scanline set-up, surface
  planes) eagerly.
All three give the same bits; tests render every feature each way and compare the bytes.
`choose` picks the backend of a render. The compiled and native backends read the shading
tables transposed (`transposed`: one contiguous gather per pixel).

The tensor functions only use ops that Inductor's CPU code computes exactly as ATen does: IEEE
+, -, *, /, rsqrt (an exact sqrt then a division), floor, min/max, integer ops, gathers; no FMA
contraction (Inductor compiles with -ffp-contract=off) and no `torch.sqrt` (ATen's CPU sqrt goes
through MKL's not-correctly-rounded VML). Only CPU kernels are compiled or native: on CUDA,
Inductor emits Triton code whose division, rsqrt and FMA fusion may round differently from
ATen's kernels, and no GPU was at hand to verify byte identity, so CUDA always runs eager (which
is launch-bound there, not arithmetic-bound).

Compiling takes a while on first use (C++ compilation, about a minute per function set on two
cores); Inductor caches the result on disk (`TORCHINDUCTOR_CACHE_DIR`, default under /tmp), so
later processes on the machine start in seconds. Shapes are traced as dynamic: no recompilation
per video.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

from lightpipe import native_library
from lightpipe.render import antialias, camera_response, motion, native, rasterizer, shadows
from lightpipe.render.occlusion import frame_inverse_depth

PIXEL_BLOCK = 1 << 17  # pixels shaded at once (eager): small enough that temporaries recycle heap

_COMPILED_FUNCTIONS: dict[Callable, Callable] = {}


class Backend:
    """Eager PyTorch, the reference. Subclasses run some kernels another way, the same bits."""

    name = "eager"
    transposed = False  # whether the shading tables are transposed (one gather per pixel)

    def torch(self, fn: Callable) -> Callable:
        """The pure tensor function `fn` as this backend runs it (compiled or as it is)."""
        return fn

    def fill_zbuffer(self, tris, intr, width: int, height: int, near: float,
                     max_candidates: int) -> torch.Tensor:
        """`rasterizer.rasterize`: (Fc, H, W) int64 z-buffer keys of a chunk of frames."""
        return rasterizer.rasterize(tris, intr, width, height, near, max_candidates, self)

    def shadow_moments(self, keys, depths, radius: int) -> torch.Tensor:
        """`shadows.offset_depth` then `shadows.blurred_moments` of (G, S, S) light-space keys:
        (G, 2, S, S) float32."""
        return self.torch(shadows.blurred_moments)(
            self.torch(shadows.offset_depth)(keys, depths), radius)

    def inverse_depth(self, keys) -> torch.Tensor:
        """`occlusion.frame_inverse_depth` of a frame's (H*W,) z-buffer keys."""
        return self.torch(frame_inverse_depth)(keys)

    def silhouette_samples(self, hit_planes, keys, face_part, intr, k: int, height: int,
                           width: int, shading) -> tuple[torch.Tensor, torch.Tensor]:
        """`antialias.silhouette_samples`: the silhouette pixels of a frame and the radiance of
        their k x k samples."""
        return antialias.silhouette_samples(self, hit_planes, keys, face_part, intr, k, height,
                                            width, shading)

    def shade_frame(self, keys, shading, rays, outputs, radiance) -> None:
        """One frame: z-buffer keys (H*W,) into its linear radiance (3, H*W) and `outputs`
        (depth, and segmentation and normals where asked for); depth 0, segmentation 0 and
        normals 0 where there is no surface."""
        depth = outputs.depth.view(-1)
        depth.zero_()
        sky = torch.nonzero(keys < 0).view(-1)  # EMPTY is -1, real keys are >= 0
        for pixel in sky.split(PIXEL_BLOCK):
            radiance.index_copy_(1, pixel, shading.backdrop(pixel, rays))
        covered = torch.nonzero(keys >= 0).view(-1)
        for pixel in covered.split(PIXEL_BLOCK):
            face, block_radiance, block_depth, block_normals = shading.covered(
                keys, pixel, rays, outputs.normals is not None)
            radiance.index_copy_(1, pixel, block_radiance)
            depth.index_copy_(0, pixel, block_depth)
            if outputs.normals is not None:
                outputs.normals.view(-1, 3).index_copy_(0, pixel, block_normals.t())
            if outputs.segmentation is not None:  # 1 + part: 1 ground, 2 + k object k
                ids = shading.video.scene.face_part.index_select(0, face) + 1
                outputs.segmentation.view(-1).index_copy_(0, pixel, ids.to(torch.int32))

    def encode_response(self, radiance, response, rgb) -> None:
        """`camera_response.encode` of (3, H*W) radiance into the (H, W, 3) uint8 `rgb`."""
        codes = self.torch(camera_response.encode)(radiance, response).t()
        rgb.view(-1, 3).copy_(codes.to(rgb.device))

    def flow_frame(self, depth, ids, rays, target_depth, transforms, params, width: int,
                   height: int, flow, flags) -> None:
        """`motion.flow_block` of every pixel of a frame: depth (H*W,) float32, ids (H*W,)
        int32, `pixel_rays` (3, H*W), the target frame's depth (H*W,), `motion.flow_transforms`
        and `motion.flow_params`, into flow (H*W, 2) float32 and flags (H*W,) uint8."""
        block = self.torch(motion.flow_block)
        for pixel in torch.arange(depth.numel()).split(PIXEL_BLOCK):
            a, b = int(pixel[0]), int(pixel[-1]) + 1
            f, g = block(pixel, depth[a:b], ids[a:b], rays[0, a:b], rays[1, a:b], target_depth,
                         transforms, params, width, height)
            flow[a:b].copy_(f)
            flags[a:b].copy_(g)

    def object_coordinates_frame(self, depth, ids, rays, boxes, out) -> None:
        """`motion.coordinates_block` of every pixel of a frame (depth, ids, rays as in
        `flow_frame`, `motion.box_transforms`) into out (H*W, 3) float32."""
        block = self.torch(motion.coordinates_block)
        for a in range(0, depth.numel(), PIXEL_BLOCK):
            b = min(depth.numel(), a + PIXEL_BLOCK)
            out[a:b].copy_(block(depth[a:b], ids[a:b], rays[0, a:b], rays[1, a:b], boxes))


class Compiled(Backend):
    """Every tensor function compiled by Inductor (CPU only)."""

    name = "compiled"
    transposed = True

    def torch(self, fn: Callable) -> Callable:
        compiled = _COMPILED_FUNCTIONS.get(fn)
        if compiled is None:
            _configure_dynamo()
            compiled = _COMPILED_FUNCTIONS[fn] = torch.compile(fn, dynamic=True, fullgraph=True)
        return compiled


class Native(Backend):
    """The C kernels (`native`) where there are some, the eager reference elsewhere (CPU only,
    where `native.available()`)."""

    name = "native"
    transposed = True

    def fill_zbuffer(self, tris, intr, width, height, near, max_candidates) -> torch.Tensor:
        setup = rasterizer.scanline_setup(tris, intr, width, height, near, self)
        return native.fill_spans(setup.coef, setup.first_row, setup.num_rows, setup.face, width,
                                 height, tris.shape[0])

    def shadow_moments(self, keys, depths, radius: int) -> torch.Tensor:
        return native.shadow_moments(keys, depths, radius)

    def inverse_depth(self, keys) -> torch.Tensor:
        return native.inverse_depth(keys)

    def silhouette_samples(self, hit_planes, keys, face_part, intr, k, height, width, shading
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        edge = torch.nonzero(native.silhouette(keys, face_part, height, width)).view(-1)
        if edge.numel() == 0:
            return edge, torch.empty((3, 0), dtype=torch.float32)
        best, rx, ry = native.sample_keys(hit_planes, keys, edge, intr, k, height, width)
        backdrop_pixel = edge.repeat_interleave(k * k) \
            if shading.video.backdrop is not None else None
        return edge, shading.native.shade_samples(best, rx, ry, backdrop_pixel, height * width)

    def shade_frame(self, keys, shading, rays, outputs, radiance) -> None:
        shading.native.shade_frame(
            keys, rays, radiance, outputs.depth.view(-1),
            None if outputs.normals is None else outputs.normals.view(-1, 3),
            None if outputs.segmentation is None else outputs.segmentation.view(-1))

    def encode_response(self, radiance, response, rgb) -> None:
        native.encode_response(radiance, response, rgb)

    def flow_frame(self, depth, ids, rays, target_depth, transforms, params, width, height,
                   flow, flags) -> None:
        native.flow_frame(depth, ids, rays, target_depth, transforms, params, width, height,
                          flow, flags)

    def object_coordinates_frame(self, depth, ids, rays, boxes, out) -> None:
        native.object_coordinates(depth, ids, rays, boxes, out)


EAGER, COMPILED, NATIVE = Backend(), Compiled(), Native()


def choose(device: torch.device, native_wanted: bool = True, compile: bool = False) -> Backend:
    """The backend of a render: on CUDA eager; on CPU compiled when asked for (it wins over
    the native kernels), else native when wanted (`settings.render.native`) and available,
    else eager. All give the same bytes."""
    if device.type != "cpu":
        return EAGER
    if compile:
        return COMPILED
    return NATIVE if native_wanted and native.available() else EAGER


def native_missing_notice(device: torch.device | str, native_wanted: bool = True,
                          compile: bool = False) -> str | None:
    """What a render run on `device` should be told at start-up when it asks for the native
    kernels (`settings.render.native`, not compile, on CPU, not `LIGHTPIPE_NATIVE=0`) but the
    library is not built or stale, so it runs the eager reference; else None."""
    why = native_library.missing()
    chose_another = not native_wanted or compile or native_library.turned_off()
    if torch.device(device).type != "cpu" or chose_another or why is None:
        return None
    what = "are not built" if why == "not built" else \
        "are stale (built from other C sources than those in the tree)"
    return (f"lightpipe: the native CPU kernels {what}: this run renders with the eager PyTorch "
            f"reference: the same bytes, {SLOWER}.\n"
            "HINT: install a C compiler and the Python headers (Debian/Ubuntu: `apt install gcc "
            "python3-dev`), then rebuild the kernels: `pip install -e .` in Lightpipe's "
            "environment.")


# Rendering alone, eager vs native, 2 threads: docs/benchmarks.md (render_vs_encode.py at
# 832x480: 7.9x plain, 6.7x with the look; about 3x at 320x192, where fixed costs weigh more).
SLOWER = "3x to 8x slower (more at larger frames; docs/benchmarks.md)"
_warned = False


def warn_if_native_missing(device: torch.device | str, native_wanted: bool = True,
                           compile: bool = False) -> None:
    """Print `native_missing_notice` to stderr, once per process (at the start of predict and
    preview)."""
    global _warned
    notice = None if _warned else native_missing_notice(device, native_wanted, compile)
    if notice:
        print(notice, file=sys.stderr, flush=True)
        _warned = True


def _configure_dynamo() -> None:
    """Trace every size as its own symbol. With duck sizing, dims that happen to be equal at the
    first call (4 frames per chunk and 4 parts, say) share a symbol and the function is retraced
    for the next video; enough of those and Dynamo silently falls back to eager."""
    import torch._dynamo.config
    import torch.fx.experimental._config

    torch.fx.experimental._config.use_duck_shape = False
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 32)
