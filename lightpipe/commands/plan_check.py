"""Does a video's JSON describe the video the plan gives for its index? (`lightpipe verify`)

Sizes and sha256 prove that the files are the ones the JSON lists, and the identity hash that the
JSON was written for this config and seed; neither catches a JSON whose spec or camera was edited
by hand. Planning is pure and cheap, so verify plans each video again and compares: the spec
exactly, after the same JSON round trip the writer's went through, and the camera exactly, as
the renderer records it (`render.scene.build_scene`: float64 intrinsics and extrinsics at the
frame times; a float survives JSON unchanged).
"""

from __future__ import annotations

import json

from lightpipe.dataset.meta import VideoMeta
from lightpipe.planning.specs import VideoSpec
from lightpipe.render import kinematics

MAX_SHOWN = 3  # differences named per video


def plan_problem(meta: VideoMeta, spec: VideoSpec) -> str | None:
    """What in `meta` differs from the planned `spec` of its index (None: nothing)."""
    planned = json.loads(json.dumps(spec.to_dict()))
    recorded = json.loads(json.dumps(meta.spec.to_dict()))
    found = [f"spec.{path} {there!r}, plan {here!r}"
             for path, there, here in _differences(recorded, planned)]
    camera = meta.camera
    if camera.intrinsics != kinematics.intrinsics(spec).tolist():
        found.append("camera.intrinsics differ from the plan")
    extrinsics = kinematics.camera_extrinsics(spec).tolist()
    if len(camera.extrinsics) != len(extrinsics):
        found.append(f"camera.extrinsics has {len(camera.extrinsics)} frames, "
                     f"plan {len(extrinsics)}")
    else:
        found += [f"camera.extrinsics frame {frame} differs from the plan"
                  for frame, (there, here) in enumerate(zip(camera.extrinsics, extrinsics))
                  if there != here]
    for key in ("width", "height"):
        if getattr(camera, key) != getattr(spec, key):
            found.append(f"camera.{key} {getattr(camera, key)}, plan {getattr(spec, key)}")
    if not found:
        return None
    more = f" (and {len(found) - MAX_SHOWN} more)" if len(found) > MAX_SHOWN else ""
    return "; ".join(found[:MAX_SHOWN]) + more


def _differences(there, here, path: str = ""):
    """(dotted path, recorded, planned) for each leaf where two JSON values differ, in the
    spec's field order (seeds before the values drawn from them)."""
    if isinstance(there, dict) and isinstance(here, dict):
        for key in [*here, *(key for key in there if key not in here)]:
            yield from _differences(there.get(key), here.get(key),
                                    f"{path}.{key}" if path else key)
    elif isinstance(there, list) and isinstance(here, list) and len(there) == len(here):
        for position, (a, b) in enumerate(zip(there, here)):
            yield from _differences(a, b, f"{path}[{position}]")
    elif there != here:
        yield path, there, here
