"""Built-in materials' mip chains cached on disk: generating a 512-texel procedural material and
its chain costs about 0.2 s, reading it back 3 ms, and every process of every run needs the same.

Entries live under `$LIGHTPIPE_CACHE_DIR` (default `$XDG_CACHE_HOME/lightpipe`, else
`~/.cache/lightpipe`) in `textures/`, named by the material id, the side and a digest of the
code that makes them (`materials.py`, `textures.py`: an edit makes new entries), and hold the
chain's sha256: an entry that is missing, truncated or altered is made again, never trusted.
Written atomically (a temporary file renamed over the entry); a read-only cache only costs the
time. User materials are not cached here: they are hashed and read from the library itself.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np

from lightpipe.assets import materials
from lightpipe.assets.simplify import cache_dir as _mesh_cache_dir
from lightpipe.assets.simplify import save_npz_atomically
from lightpipe.render import textures


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    digest = hashlib.sha256()
    for module in (materials, textures):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    return _mesh_cache_dir().parent / "textures"


def builtin_chain(material_id: str, side: int) -> np.ndarray:
    """`textures.mip_chain` of the built-in material at `side`, from the disk cache when a valid
    entry is there, else made and stored."""
    name = material_id.replace(":", "-").replace("/", "-")
    entry = cache_dir() / f"{name}-{side}-{_code_digest()}.npz"
    chain = _read(entry)
    if chain is None:
        chain = textures.mip_chain(materials.material_maps(material_id, side))
        _write(entry, chain)
    return chain


def _read(entry: Path) -> np.ndarray | None:
    try:
        with np.load(entry, allow_pickle=False) as data:
            chain, stored = data["chain"], str(data["sha256"])
    except Exception:  # missing, truncated, or not an npz: made again
        return None
    if chain.dtype != np.uint8 or chain.ndim != 2 or chain.shape[1] != textures.TEXEL_BYTES \
            or hashlib.sha256(chain.tobytes()).hexdigest() != stored:
        return None
    chain.setflags(write=False)
    return chain


def _write(entry: Path, chain: np.ndarray) -> None:
    save_npz_atomically(entry, chain=chain, sha256=hashlib.sha256(chain.tobytes()).hexdigest())
