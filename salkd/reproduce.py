"""``salkd reproduce``: run the ordered notebooks with papermill, skipping the ones already done.

Each notebook ``notebooks/NN_name.ipynb`` is executed with the ``python3`` kernel, with the
repository root as working directory and its ``parameters`` cell overridden by ``PROFILE``,
``DATA_FIXATION``, ``DATA_VSOD``, ``OUT`` and ``RETRAIN``. The executed copy is written to
``<runs>/<profile>/notebooks/NN_name.ipynb``; the kernels' own messages (not the cells' outputs) go to
``<runs>/<profile>/notebooks/kernel.log``.

Skipping and resuming
---------------------
After a notebook succeeds, a stamp ``<runs>/<profile>/notebooks/.stamps/NN_name.json`` records
its *key*: a SHA-256 of

* the notebook file's bytes,
* the injected parameters (JSON),
* ``salkd.__version__``, the profile's resolved configuration (:func:`salkd.config.get_profile`) and a
  hash of salkd's own ``.py`` sources (after a ``git pull`` or an edit, every notebook reruns and finds
  which runs are still complete with the same config),
* the key of the notebook before it in the order (a chain: a notebook reads what earlier
  notebooks produced, so when an earlier one changes, the later ones are rerun; this is cheap,
  since training stages reuse complete run folders).

A notebook whose stamp holds its current key is skipped. The first failure stops the run, names
the notebook and the failing cell, removes that notebook's stamp and returns a nonzero code; the
next call skips the notebooks that succeeded and continues at the failed one. ``force=True``
ignores the stamps; ``only=[...]`` runs just the named notebooks (``"04_uvanet"``,
``"04_uvanet.ipynb"``, ``"04"`` or ``"uvanet"``), still in order.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from salkd import paths
from salkd.atomic import write_json, write_text

__all__ = ["reproduce", "notebook_paths", "select", "notebook_key", "Outcome"]


@dataclass
class Outcome:
    """What happened to one notebook in :func:`reproduce`."""

    name: str
    status: str  # "ran", "skipped", "failed", "not run"
    seconds: float = 0.0
    output: Path | None = None
    error: str | None = None


def notebook_paths(folder: str | os.PathLike | None = None) -> list[Path]:
    """The ordered notebooks: ``NN_*.ipynb`` in ``folder`` (default :func:`salkd.paths.notebooks_dir`)."""
    root = Path(folder) if folder is not None else paths.notebooks_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"notebook folder {root} does not exist")
    return sorted(p for p in root.glob("[0-9][0-9]_*.ipynb") if p.is_file())


def _matches(path: Path, name: str) -> bool:
    stem = path.stem
    name = name.strip()
    if name.endswith(".ipynb"):
        name = name[:-6]
    num, _, rest = stem.partition("_")
    return name in (stem, num, rest)


def select(notebooks: Sequence[Path], only: Iterable[str] | None) -> list[Path]:
    """The notebooks named in ``only`` (all when ``None``), in notebook order; unknown names raise."""
    if only is None:
        return list(notebooks)
    names = [only] if isinstance(only, str) else list(only)
    unknown = [n for n in names if not any(_matches(p, n) for p in notebooks)]
    if unknown:
        raise ValueError(f"unknown notebook(s) {unknown}; available: {[p.stem for p in notebooks]}")
    return [p for p in notebooks if any(_matches(p, n) for n in names)]


def _version() -> str:
    import salkd

    return str(getattr(salkd, "__version__", "0"))


def notebook_key(path: Path, parameters: dict[str, Any], previous: str = "") -> str:
    """SHA-256 of the notebook bytes, the parameters, the salkd version and the previous key."""
    h = hashlib.sha256()
    h.update(Path(path).read_bytes())
    h.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    h.update(_version().encode())
    h.update(previous.encode())
    return h.hexdigest()


def _read_stamp(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None


def _describe_failure(name: str, exc: BaseException) -> str:
    """One message naming the notebook and, for papermill errors, the cell and its first lines."""
    cell = getattr(exc, "cell_index", None)
    if cell is not None:
        src = str(getattr(exc, "source", "") or "").strip().splitlines()
        head = "\n".join("    " + s for s in src[:6]) + ("\n    ..." if len(src) > 6 else "")
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = getattr(exc, "evalue", str(exc))
        return (f"notebook {name} failed in cell {cell} (execution count {getattr(exc, 'exec_count', None)}): "
                f"{ename}: {evalue}\n  cell source:\n{head}")
    return f"notebook {name} failed: {type(exc).__name__}: {exc}"


def _summary(outcomes: list[Outcome], training: dict[str, float] | None = None) -> str:
    """The notebook time table, then one line: the total, the slowest notebook and, when runs were trained
    during the call, how many and their frames per second of training (:func:`salkd.timings.trained_since`)."""
    w = max([len(o.name) for o in outcomes] + [8])
    lines = [f"{'notebook':<{w}}  {'status':<8}  {'seconds':>8}", f"{'-' * w}  {'-' * 8}  {'-' * 8}"]
    for o in outcomes:
        secs = f"{o.seconds:8.1f}" if o.status in ("ran", "failed") else f"{'':>8}"
        lines.append(f"{o.name:<{w}}  {o.status:<8}  {secs}")
    total = sum(o.seconds for o in outcomes)
    lines.append(f"{'total':<{w}}  {'':<8}  {total:8.1f}")
    ran = [o for o in outcomes if o.status in ("ran", "failed")]
    if ran:
        slow = max(ran, key=lambda o: o.seconds)
        line = (f"total {total / 60:.1f} min; slowest {slow.name} {slow.seconds:.0f} s "
                f"({slow.seconds / max(total, 1e-9):.0%})")
        if training and training.get("runs"):
            line += (f"; {int(training['runs'])} runs trained, {training['seconds'] / 60:.1f} min of training at "
                     f"{training['frames_per_s']:.0f} frames/s")
        lines.append(line)
    return "\n".join(lines)


def _write_timings(path: Path, outcomes: list[Outcome]) -> None:
    """The notebook time table of this call as CSV (notebook, status, seconds, CPU, threads, finished)."""
    import csv
    import io

    import torch

    from salkd.bench.machine import cpu_info

    info = cpu_info()
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["notebook", "status", "seconds", "cpu", "cpus", "torch_threads", "finished"])
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    for o in outcomes:
        w.writerow([o.name, o.status, f"{o.seconds:.1f}", info.get("model"), info.get("cpus"),
                    torch.get_num_threads(), stamp])
    write_text(path, buf.getvalue())


def _quiet_after_interrupt() -> None:
    """After Ctrl-C during a notebook: no "Task exception was never retrieved" traceback from the
    interrupted cell's asyncio task when the interpreter exits (salkd prints its one line)."""
    import logging

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def _kernel_manager(log: Path) -> type:
    """A Jupyter kernel manager whose kernels write their own stderr to ``log`` (appended) instead of the
    terminal: their start-up warnings, and the ``zmq`` traceback a kernel prints when Ctrl-C closes its
    sockets mid-reply, so that an interrupted ``reproduce`` ends with salkd's one line. Cell outputs and
    errors are unaffected (they are in the executed notebook)."""
    from jupyter_client.manager import AsyncKernelManager

    class _LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as fh:   # the kernel keeps its own copy of the descriptor
                kw.setdefault("stderr", fh)
                await self._async_start_kernel(**kw)

    return _LoggedKernelManager


def reproduce(profile: str | None = "quick", *, data_fixation: str | os.PathLike | None = None,
              data_vsod: str | os.PathLike | None = None, out: str | os.PathLike | None = None,
              only: Iterable[str] | None = None, force: bool = False, retrain: bool = False,
              timeout: int | None = 3600, progress: bool = True, outcomes: list[Outcome] | None = None,
              keep_going: bool = False, refresh_figures: bool = False) -> int:
    """Run the notebooks in order with papermill; return 0 when all succeeded (or were skipped).

    ``profile``: the profile name (``None``: ``$SALKD_PROFILE`` or "quick"); ``data_fixation`` /
    ``data_vsod``: dataset paths passed to the notebooks; ``out``: the runs root (default
    :func:`salkd.paths.runs_dir`); ``only``: notebook names to run (see the module docstring);
    ``force``: ignore the stamps and run every selected notebook; ``retrain``: passed to the
    notebooks as ``RETRAIN`` (retrain complete runs); ``timeout``: per-cell timeout in seconds
    (``None``: none); ``progress``: papermill's per-notebook progress bar. ``outcomes``: a list to
    receive one :class:`Outcome` per selected notebook (for callers and tests). ``keep_going``: the
    report (notebook 09) builds what it can past a failed table or figure and lists the failures in
    ``CLAIMS.md`` instead of stopping (``SALKD_KEEP_GOING=1`` in the kernels). ``refresh_figures``:
    the ``quick`` report rewrites the committed ``figures/`` (``SALKD_REFRESH_FIGURES=1`` in the
    kernels; ``make reproduce`` asks for it); without it, figures go to ``<runs>/<profile>/figures``.
    A summary table
    (notebook, status, seconds) is printed at the end. The output folder is locked meanwhile: a second
    ``reproduce`` into it stops at once with :class:`salkd.locks.BusyError`.
    """
    import papermill as pm

    from salkd.config import default_profile, get_profile

    if keep_going:
        os.environ["SALKD_KEEP_GOING"] = "1"  # the kernels papermill starts inherit it
    if refresh_figures:
        os.environ["SALKD_REFRESH_FIGURES"] = "1"

    profile = profile or default_profile()
    get_profile(profile)  # unknown profile -> KeyError naming the choices, before any kernel starts
    runs_root = Path(out).expanduser().resolve() if out is not None else paths.runs_dir()
    dest = runs_root / profile / "notebooks"
    stamps = dest / ".stamps"
    params = {"PROFILE": profile,
              "DATA_FIXATION": None if data_fixation is None else str(Path(data_fixation).expanduser().resolve()),
              "DATA_VSOD": None if data_vsod is None else str(Path(data_vsod).expanduser().resolve()),
              "OUT": None if out is None else str(runs_root),
              "RETRAIN": bool(retrain)}
    all_nbs = notebook_paths()
    chosen = set(select(all_nbs, only))
    keys: dict[Path, str] = {}
    prev = ""
    # where the report writes is part of the key: a run that now refreshes figures/ reruns the report
    key_params = {**params, "FIGURES": str(runs_root / profile / "figures") if out is not None
                  else str(paths.figures_dir(profile))}
    from salkd.bench.cache import code_hash
    from salkd.pipeline import env_overrides

    key_params["CONFIG"] = hashlib.sha256(json.dumps(get_profile(profile), sort_keys=True, default=str)
                                          .encode()).hexdigest()[:16]
    key_params["SALKD_CODE"] = code_hash(".")

    if env_overrides():  # profile overrides given to the kernels ($SALKD_OVERRIDES, e.g. the dry run)
        key_params["OVERRIDES"] = env_overrides()
    for nb in all_nbs:  # the chain runs over every notebook, so `only` does not change the keys
        prev = keys[nb] = notebook_key(nb, key_params, prev)
    results = outcomes if outcomes is not None else []
    todo = [nb for nb in all_nbs if nb in chosen]
    from salkd.locks import locked

    # one reproduce per output folder: a second one stops at once instead of failing halfway
    with locked(dest, wait=False, what="reproduce output folder"):
        started = time.time()
        cwd = str(paths.home())
        code = 0
        for i, nb in enumerate(todo):
            name = nb.stem
            stamp = stamps / f"{name}.json"
            if not force and _read_stamp(stamp) == keys[nb]:
                print(f"[{i + 1}/{len(todo)}] {name}: unchanged, skipped", flush=True)
                results.append(Outcome(name, "skipped", output=dest / nb.name))
                continue
            if stamp.exists():
                stamp.unlink()
            print(f"[{i + 1}/{len(todo)}] {name}: running (executed copy -> {dest / nb.name})", flush=True)
            dest.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(nb), str(dest / nb.name), parameters=dict(params), kernel_name="python3",
                                    cwd=cwd, execution_timeout=timeout, log_output=False, progress_bar=progress,
                                    request_save_on_cell_execute=True,
                                    kernel_manager_class=_kernel_manager(dest / "kernel.log"))
            except KeyboardInterrupt:
                _quiet_after_interrupt()
                raise
            except Exception as exc:  # papermill raises PapermillExecutionError with the cell; others too
                secs = time.perf_counter() - t0
                msg = _describe_failure(name, exc)
                results.append(Outcome(name, "failed", secs, dest / nb.name, msg))
                print(f"\nFAILED: {msg}\n  executed copy with the traceback: {dest / nb.name}\n"
                      f"  fix it and run again: finished notebooks are skipped, this one is rerun.",
                      file=sys.stderr, flush=True)
                results.extend(Outcome(n.stem, "not run") for n in todo[i + 1:])
                code = 1
                break
            secs = time.perf_counter() - t0
            write_json(stamp, {"key": keys[nb], "notebook": str(nb), "parameters": params, "salkd": _version(),
                               "seconds": round(secs, 2), "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})
            results.append(Outcome(name, "ran", secs, dest / nb.name))
            print(f"[{i + 1}/{len(todo)}] {name}: done in {secs:.1f} s", flush=True)
        from salkd.timings import trained_since

        print(_summary(results, trained_since(runs_root / profile, started)), flush=True)
        _write_timings(runs_root / profile / "timings.csv", results)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m salkd.reproduce [--profile P] [--only NAME ...] [--force] ...`` (the CLI wires the same)."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m salkd.reproduce", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default=None)
    ap.add_argument("--data-fixation", default=None)
    ap.add_argument("--data-vsod", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", nargs="+", default=None)
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    return reproduce(a.profile, data_fixation=a.data_fixation, data_vsod=a.data_vsod, out=a.out, only=a.only,
                     force=a.force, retrain=a.retrain, timeout=a.timeout, progress=not a.no_progress)


if __name__ == "__main__":
    raise SystemExit(main())
