"""The ``salkd`` command: reproduce | synth | train | evaluate | bench | export | predict | weights."""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any, Iterator

from salkd.cli_args import build_parser, data_map, kv

__all__ = ["main", "build_parser"]


def _check_writable(path: str | None, option: str, *, folder: bool) -> None:
    """Refuse an output path that cannot be written, before any work: one under a file, in a read-only or
    not-writable folder, or (``folder=False``) one that is a folder. ``folder``: the path is a folder to create."""
    import os

    if not path:
        return
    p = Path(path).expanduser()
    if not folder and p.is_dir():
        raise ValueError(f"{option} {p} is a folder; give a file name")
    if folder and p.exists() and not p.is_dir():
        raise ValueError(f"{option} {p} is a file, not a folder; choose another {option}")
    existing = next(a for a in [p, *Path(os.path.abspath(p)).parents] if a.exists())
    if existing != p and not existing.is_dir():
        raise ValueError(f"{option} {p}: {existing} is a file, not a folder; choose another {option}")
    if not os.access(existing if existing.is_dir() else existing.parent, os.W_OK):
        raise ValueError(f"{option} {p}: {existing} is not writable (read-only mount or permissions); "
                         f"choose another {option}")


def _check_device(device: str | None) -> None:
    """Refuse an unknown device or CUDA where there is none, before any work (:func:`salkd.device.resolve_device`)."""
    if device:
        from salkd.device import resolve_device

        resolve_device(device)


def _read_config_file(path: str) -> dict[str, Any]:
    """``--config``: a JSON object of dotted overrides, with errors naming the file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--config {p} does not exist")
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"--config {p} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"--config {p} must hold a JSON object of dotted keys, e.g. {{\"skd.mu\": 0.3}}")
    return obj


def _cmd_train(a: argparse.Namespace) -> int:
    from salkd.config import default_profile, parse_value
    from salkd.context import Context
    from salkd.papers import check_stage_args, run_stage

    overrides: dict[str, Any] = {}
    if a.config:
        overrides.update(_read_config_file(a.config))
    overrides.update(kv(a.set, "--set"))
    kw = {k: parse_value(v) for k, v in kv(a.arg, "--arg").items()}
    check_stage_args(a.stage, kw)      # argument names and values, before the upstream stages train
    _check_device(a.device)
    _check_writable(a.out, "--out", folder=True)
    ctx = Context(profile=a.profile or default_profile(), data=data_map(a.data) or None, runs=a.out,
                  overrides=overrides, seed=a.seed, device=a.device, force=a.force, progress=not a.quiet)
    out = run_stage(ctx, a.stage, **kw)
    print(json.dumps(out, indent=2, default=str) if isinstance(out, dict) else out)
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    import pandas as pd

    from salkd.data import open_dataset
    from salkd.evaluate import evaluate
    from salkd.runs import read_json

    _check_device(a.device)
    _check_output(Path(a.run), a.output)
    _check_writable(a.csv, "--csv", folder=False)
    res = a.res or read_json(Path(a.run) / "config.json")["res"]
    df = evaluate(a.run, open_dataset(a.data, split=a.split), res, device=a.device, output=a.output,
                  max_frames_per_video=a.max_frames)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df)
    if a.csv:
        from salkd.atomic import write_text

        write_text(a.csv, df.to_csv())
    return 0


def _check_output(run: Path, output: str | None) -> None:
    """Refuse ``--output`` for a run whose model has a single output (it would be ignored)."""
    if output is None:
        return
    from salkd.models import build
    from salkd.runs import read_json

    spec = read_json(run / "config.json").get("model") or {}
    names = tuple(getattr(build(spec["name"], **spec.get("kwargs", {})), "output_names", ()))
    if len(names) < 2:
        raise ValueError(f"--output {output}: the model of {run} ({spec['name']}) has a single output; drop --output")


def _cmd_export(a: argparse.Namespace) -> int:
    from salkd.export import export_onnx
    from salkd.models import build, from_run, load_state_checked, read_state_dict
    from salkd.runs import require_finished

    _check_writable(a.out, "--out", folder=False)
    for folder in (a.model, a.checkpoint):
        if folder and Path(folder).is_dir():
            require_finished(folder, a.allow_unfinished)
    if Path(a.model).is_dir():
        model = from_run(a.model)
    else:
        model = build(a.model)
        if a.checkpoint:
            ck = Path(a.checkpoint)
            if ck.is_dir():
                held = from_run(ck).salkd_spec.get("name")
                if held != a.model:
                    raise ValueError(f"{ck} holds a {held!r} model, not {a.model!r}: export {held} (or pass the "
                                     f"run folder alone: `salkd export {ck} --out ...`)")
                model = from_run(ck)
            else:
                load_state_checked(model, read_state_dict(ck), source=str(ck))
    model = model.deploy()
    rep = export_onnx(model.eval(), a.out, res=a.res, atol=a.atol)
    print(json.dumps(rep, indent=2, default=str))
    return 0


def _run(a: argparse.Namespace) -> int:
    if a.cmd == "weights":
        from salkd import weights

        return weights.run_cli(a)
    if a.cmd == "reproduce":
        from salkd.reproduce import reproduce

        d = data_map(a.data)
        _check_writable(a.out, "--out", folder=True)
        if a.dry_run:
            from salkd.dryrun import dry_run

            if d or a.only:
                raise ValueError("--dry-run runs every notebook on its own tiny synthetic data: drop --data / --only")
            return dry_run(a.profile, a.out, timeout=a.timeout)
        return int(reproduce(a.profile, data_fixation=d.get("fixation"), data_vsod=d.get("vsod"), out=a.out,
                             only=a.only, force=a.force, retrain=a.retrain, timeout=a.timeout,
                             keep_going=a.keep_going, refresh_figures=a.refresh_figures) or 0)
    if a.cmd == "synth":
        from salkd.data.synthetic import make_dataset

        root = make_dataset(a.root, kind=a.kind, n_videos=a.videos, n_frames=a.frames, size=tuple(a.size),
                            style=a.style, seed=a.seed)
        print(root)
        return 0
    if a.cmd == "train":
        return _cmd_train(a)
    if a.cmd == "evaluate":
        return _cmd_evaluate(a)
    if a.cmd == "bench":
        from salkd.bench.__main__ import main as bench_main

        return bench_main([a.name, *a.rest])
    if a.cmd == "export":
        return _cmd_export(a)
    if a.cmd == "predict":
        from salkd.predict import predict_video

        _check_device(a.device)
        _check_writable(a.out, "--out", folder=False)
        rep = predict_video(a.source, a.run, a.out, res=a.res, device=a.device, batch_size=a.batch,
                            allow_unfinished=a.allow_unfinished)
        print(f"{rep['frames']} frames at {rep['res'][0]}x{rep['res'][1]}: network {rep['net_fps']:.0f} frames/s, "
              f"end to end {rep['end_to_end_fps']:.0f} frames/s -> {rep['video']} (maps in {rep['maps']})")
        return 0
    return 2


def _expected_errors() -> tuple[type[BaseException], ...]:
    """salkd's own errors, whose messages name the file or key and what to do: no traceback needed.

    FileNotFoundError (missing files and folders), ValueError (bad arguments and settings; also
    ``salkd.data.DatasetError``: unreadable, corrupt or unknown datasets), KeyError (unknown config
    keys and profiles, e.g. a misspelled ``--set``), ``salkd.runs.RunError`` (a missing, incomplete
    or mismatched run folder), ``salkd.export.ExportError`` and FloatingPointError (training diverged).
    """
    from salkd.export import ExportError
    from salkd.locks import BusyError
    from salkd.runs import RunError

    return (FileNotFoundError, ValueError, KeyError, RunError, ExportError, FloatingPointError, BusyError)


def _message(exc: BaseException) -> str:
    # str(KeyError("...")) is the repr of its argument; show the message itself, on one line
    msg = exc.args[0] if isinstance(exc, KeyError) and len(exc.args) == 1 else exc
    return " ".join(line.strip() for line in str(msg).splitlines()) or type(exc).__name__


def _disk_full_message(exc: BaseException) -> str | None:
    """The one-line message of a full disk (salkd's own, or any ENOSPC / torch short write), else None."""
    from salkd.train_state import DiskFullError, is_disk_full

    if isinstance(exc, DiskFullError):
        return str(exc)
    if not is_disk_full(exc):
        return None
    where = getattr(exc, "filename", None) or "a file"
    return f"no space left on device while writing {where}; free space and rerun to resume"


#: OS errors on a path the user chose (read-only mount, a file where a folder should be, no permission...)
_PATH_ERRNOS = {"EACCES", "EPERM", "EROFS", "EISDIR", "ENOTDIR", "EEXIST", "EIO", "ENAMETOOLONG", "ENOTEMPTY"}


def _os_error_message(exc: BaseException) -> str | None:
    """The one-line message of an OS error on a named path (:data:`_PATH_ERRNOS`), else None."""
    import errno

    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    if errno.errorcode.get(exc.errno) not in _PATH_ERRNOS:
        return None
    where = exc.filename2 or exc.filename
    if where is None:
        return None
    reason = exc.strerror or errno.errorcode[exc.errno]
    return (f"{where}: {reason[0].lower() + reason[1:]}; check that path (permissions, a read-only mount, a file "
            f"where a folder should be) or choose another, and rerun")


def _interrupt_message(exc: KeyboardInterrupt) -> str:
    """Where training stopped and resumes (:class:`salkd.train.TrainingInterrupted`), else the plain line."""
    if hasattr(exc, "resume_step"):
        return str(exc)
    return "interrupted; rerun the same command to resume"


_signals: list[int] = []


def _raise_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM handler: stop where the program is, exactly as Ctrl-C does."""
    _signals.append(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """While the command runs, SIGTERM raises KeyboardInterrupt (outside the main thread: unchanged)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_THREADED = {"train", "evaluate", "predict", "export"}


def main(argv: list[str] | None = None) -> int:
    """Run the ``salkd`` command line; returns the exit code.

    salkd's own errors print one line ``salkd: error: <message>`` on stderr and exit with 2 (as
    argparse does for bad arguments); ``--debug`` shows their traceback instead. Any other exception
    propagates with its traceback. Ctrl-C and SIGTERM print one line (with the step a training run
    stopped at and resumes from) and exit with 128 + the signal: 130 and 143; runs resume from their
    last checkpoint. A full disk names the file being written; any other OS error on a path (no
    permission, a read-only mount, a file where a folder should be) is one line naming the path.
    Torch's threads follow :mod:`salkd.threads` (``SALKD_THREADS`` wins).
    """
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    _signals.clear()
    try:
        with _sigterm_as_ctrl_c():
            a = build_parser().parse_args(argv)   # its imports (torch) take seconds: a signal there is one line too
            debug = bool(getattr(a, "debug", False))
            if a.cmd in _THREADED:
                from salkd.threads import apply_thread_policy

                apply_thread_policy()
            return _run(a)
    except KeyboardInterrupt as exc:
        if debug:
            raise
        print(f"salkd: {_interrupt_message(exc)}", file=sys.stderr)
        return 128 + int(_signals[-1] if _signals else signal.SIGINT)
    except Exception as exc:
        full = None if debug else (_disk_full_message(exc) or _os_error_message(exc))
        if full is not None:
            print(f"salkd: error: {full}", file=sys.stderr)
            return 2
        if debug or not isinstance(exc, _expected_errors()):
            raise
        print(f"salkd: error: {_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
