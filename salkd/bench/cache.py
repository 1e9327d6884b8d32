"""The deployment benchmark measured once per machine and reused by every profile (``08_speed_memory``).

The speed and cost of the deployable nets do not depend on the profile's data or training, only on the
machine, the software and the nets' code. :func:`cached_run` keys a benchmark result by

* the CPU model, its key ISA flags (:data:`salkd.bench.machine.KEY_FLAGS`) and the thread count,
* the torch version (and ONNX Runtime's),
* a hash of the model code (``salkd/models/**.py``) and of the benchmark code (``salkd/bench/*.py``),
* the benchmark settings (models, resolutions, batches, quick mode, per-core rows, trained runs),

and stores it as ``<runs root>/bench-cache/<key hash>/result.json`` (under ``runs/``, never in git).
A second profile with the same settings on the same machine reads it instead of measuring again; a
process that finds another one measuring waits for it (a file lock) and then reads its result.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from salkd.atomic import write_json
from salkd.locks import locked

__all__ = ["code_hash", "cache_key", "key_digest", "cached_run", "CACHE_DIR"]

#: the folder under the runs root that holds the cached results
CACHE_DIR = "bench-cache"


def code_hash(*packages: str) -> str:
    """SHA-256 (first 16 hex digits) of the ``.py`` sources under the given ``salkd`` sub-packages."""
    import salkd

    root = Path(salkd.__file__).parent
    h = hashlib.sha256()
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def cache_key(settings: Mapping[str, Any], threads: int) -> dict[str, Any]:
    """What a benchmark result depends on (see the module docstring)."""
    import torch

    from salkd.bench import machine

    info = machine.cpu_info()
    try:
        import onnxruntime

        ort_version: str | None = onnxruntime.__version__
    except ImportError:
        ort_version = None
    return {"cpu": info.get("model"), "flags": info.get("flags", []), "threads": int(threads),
            "torch": torch.__version__, "onnxruntime": ort_version, "model_code": code_hash("models"),
            "bench_code": code_hash("bench"), "settings": json.loads(json.dumps(dict(settings), default=str))}


def key_digest(key: Mapping[str, Any]) -> str:
    """A short, stable name for ``key``."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def cached_run(runs_root: str | os.PathLike, settings: Mapping[str, Any], threads: int,
               measure: Callable[[], dict[str, Any]], *, refresh: bool = False) -> tuple[dict[str, Any], bool]:
    """``(result, from_cache)``: the cached benchmark result for this machine and ``settings``, or
    ``measure()`` (a :func:`salkd.bench.models.run` result) written to the cache. ``refresh``: measure anew."""
    key = cache_key(settings, threads)
    folder = Path(runs_root) / CACHE_DIR / key_digest(key)
    path = folder / "result.json"
    with locked(folder, wait=True, what="benchmark"):
        if path.is_file() and not refresh:
            try:
                stored = json.loads(path.read_text(encoding="utf-8"))
                if stored.get("key") == key:
                    return stored["result"], True
            except (json.JSONDecodeError, KeyError):
                pass  # a damaged cache entry is measured again
        result = measure()
        write_json(path, {"key": key, "result": json.loads(json.dumps(result, default=str))})
    return result, False
