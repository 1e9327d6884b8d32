"""Data-layer benchmark: synthetic generation time, low-res caching time and loader frames/s.

Run as ``python -m salkd.data.bench [--videos 100 --frames 32 --size 256 --res 64]``; prints numbers.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from .lowres import LowResCache
from .samples import FrameDataset, FramePairDataset

__all__ = ["loader_throughput", "run", "main"]


def loader_throughput(cache: LowResCache, *, label: str | None = None, pairs: bool = True,
                      batch_size: int = 128, n_batches: int = 30, augment: bool = False,
                      seed: int = 0) -> dict[str, Any]:
    """Benchmark: frames/s delivered by a torch DataLoader (num_workers=0) over the frame-pair
    (``pairs=True``) or single-frame dataset of ``cache``. Counts anchor frames, not pair members."""
    import torch

    if label is None:
        label = cache.labels[0] if cache.labels else None
    cls = FramePairDataset if pairs else FrameDataset
    ds = cls(cache, label=label, augment=augment, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=0,
                                         generator=gen, drop_last=False)
    n = 0
    batches = 0
    t0 = time.perf_counter()
    while batches < n_batches:
        for batch in loader:
            n += int(batch["frame"].shape[0])
            batches += 1
            if batches >= n_batches:
                break
    dt = time.perf_counter() - t0
    return {"frames_per_s": n / dt, "frames": n, "batches": batches, "seconds": dt,
            "batch_size": batch_size, "pairs": pairs, "augment": augment, "size": list(cache.size)}


def run(*, videos: int = 100, frames: int = 32, size: int = 256, res: int = 64, kind: str = "vsod",
        style: str = "aerial", workers: int = 2, out: str | None = None, progress: bool = False) -> dict:
    """Generate a synthetic dataset, cache it at ``res`` and measure the pair loader; returns timings."""
    from . import cache_lowres, make_dataset, open_dataset

    with tempfile.TemporaryDirectory(dir=out) as tmp:
        root = Path(tmp) / "synthetic"
        t0, c0 = time.perf_counter(), time.process_time()
        make_dataset(root, kind=kind, n_videos=videos, n_frames=frames, size=(size, size), style=style,
                     workers=workers, progress=progress)
        gen, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        cache = cache_lowres(open_dataset(root), (res, res), Path(tmp) / "cache", progress=progress, workers=workers)
        cache_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        cache_lowres(open_dataset(root), (res, res), Path(tmp) / "cache", progress=False)
        reuse_s = time.perf_counter() - t0
        loaders = {f"{'pairs' if p else 'frames'}{'+aug' if a else ''}": loader_throughput(cache, pairs=p, augment=a)
                   ["frames_per_s"] for p in (True, False) for a in (False, True)}
    return {"generate_s": gen, "generate_cpu_s": gen_cpu, "generate_frames_per_s": videos * frames / gen, "cache_s": cache_s,
            "cache_reuse_s": reuse_s, "loader_frames_per_s": loaders, "loadavg": os.getloadavg(),
            "cpus": os.cpu_count()}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: print the numbers of :func:`run`."""
    ap = argparse.ArgumentParser(prog="python -m salkd.data.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--size", type=int, default=256, help="generated frame side (default 256)")
    ap.add_argument("--res", type=int, default=64, help="low-res cache side (default 64)")
    ap.add_argument("--kind", choices=["vsod", "fixation"], default="vsod")
    ap.add_argument("--style", choices=["aerial", "ground"], default="aerial")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    r = run(videos=args.videos, frames=args.frames, size=args.size, res=args.res, kind=args.kind,
            style=args.style, workers=args.workers)
    print(f"generate {args.videos} x {args.frames} frames at {args.size}x{args.size} ({args.kind}/{args.style}): "
          f"{r['generate_s']:.1f} s wall ({r['generate_frames_per_s']:.0f} frames/s), "
          f"{r['generate_cpu_s']:.1f} s CPU over all threads")
    print(f"low-res cache {args.res}x{args.res}: {r['cache_s']:.1f} s, reuse {r['cache_reuse_s']:.2f} s")
    for k, v in r["loader_frames_per_s"].items():
        print(f"loader {k} (batch 128, num_workers=0): {v:.0f} frames/s")
    print(f"cpus {r['cpus']}, load average {tuple(round(x, 1) for x in r['loadavg'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
