"""The ``salkd`` command line's parser: its subcommands, options and argument types (:mod:`salkd.cli` runs
them). A refused argument is one ``salkd: error:`` line naming the command and option, exit 2."""
from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["build_parser", "kv", "data_map"]


def kv(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items or []:
        if "=" not in it:
            raise ValueError(f"{what} expects KEY=VALUE, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v
    return out


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse names the option in its error)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a seed)."""
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return n


class _Parser(argparse.ArgumentParser):
    """argparse with one ``salkd: error:`` line for a refused argument (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        self.exit(2, f"salkd: error: {where}{message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from salkd.config import profile_names
    from salkd.papers import STAGES

    p = _Parser(prog="salkd", description="Spatiotemporal knowledge distillation for video "
                                "saliency: reproducible paper notebooks (skd, uvanet, fastvsod).")
    p.add_argument("--debug", action="store_true", help="show the full traceback of any error")
    # --debug is also accepted after the command; SUPPRESS keeps a subcommand from resetting it to False
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("reproduce", help="run the notebooks in order with papermill", parents=[common])
    r.add_argument("--profile", default="quick", choices=profile_names(), help="size of the pipeline (default quick)")
    r.add_argument("--data", action="append", metavar="TASK=PATH",
                   help="dataset path per task: fixation=PATH and/or vsod=PATH (repeatable)")
    r.add_argument("--out", default=None, help="runs root (default runs/)")
    r.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these notebooks (e.g. 00_data)")
    r.add_argument("--keep-going", action="store_true",
                   help="build the other tables and figures past a failed one (listed in CLAIMS.md) instead of stopping")
    r.add_argument("--refresh-figures", action="store_true",
                   help="quick only: rewrite the committed figures/ (make reproduce does); "
                        "default: runs/<profile>/figures")
    r.add_argument("--force", action="store_true", help="rerun notebooks even when their stamps are current")
    r.add_argument("--retrain", action="store_true", help="also retrain complete runs (RETRAIN=True in every notebook)")
    r.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds (default 3600)")
    r.add_argument("--dry-run", action="store_true",
                   help="the profile's models and resolutions for 1-2 steps per stage on tiny synthetic data, on CPU, "
                        "plus one stage under torchrun (2 processes); checks every table and CLAIMS.md "
                        "(salkd.dryrun; --out default runs/dry-run)")

    s = sub.add_parser("synth", help="write a synthetic dataset", parents=[common])
    s.add_argument("root", help="output folder")
    s.add_argument("--kind", choices=["vsod", "fixation"], required=True)
    s.add_argument("--videos", type=int, default=100)
    s.add_argument("--frames", type=int, default=32)
    s.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("H", "W"))
    s.add_argument("--style", choices=["aerial", "ground"], default="aerial")
    s.add_argument("--seed", type=_non_negative_int, default=0)

    t = sub.add_parser("train", help="run one stage (and the upstream stages it needs)", parents=[common])
    t.add_argument("stage", choices=STAGES)
    t.add_argument("--profile", default=None, choices=profile_names(), help="default $SALKD_PROFILE or quick")
    t.add_argument("--config", default=None, help="a JSON file of dotted overrides, e.g. {\"skd.mu\": 0.3}")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a profile key (repeatable)")
    t.add_argument("--data", action="append", metavar="TASK=PATH", help="fixation=PATH and/or vsod=PATH")
    t.add_argument("--out", default=None, help="runs root (default runs/)")
    t.add_argument("--arg", action="append", metavar="KEY=VALUE",
                   help="a stage argument, e.g. res=32, teacher=salnet, block=mb, fusion=add, fe=test (skd_students: mu=0.3)")
    t.add_argument("--seed", type=_non_negative_int, default=None)
    t.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:1")
    t.add_argument("--force", action="store_true", help="retrain complete runs")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("evaluate", help="metrics of a run folder on a dataset", parents=[common])
    e.add_argument("run", help="a run folder runs/<profile>/<stage>/<name>")
    e.add_argument("--data", required=True, help="a dataset folder in any supported layout")
    e.add_argument("--split", default=None, help="train | val | test (if the dataset has splits)")
    e.add_argument("--res", type=_positive_int, default=None, help="input resolution (default: the run's)")
    e.add_argument("--output", default=None, choices=["spatial", "temporal"],
                   help="which output of a two-output model (uva_student: spatial | temporal)")
    e.add_argument("--device", default="auto")
    e.add_argument("--max-frames", type=_positive_int, default=None, help="frames per video (evenly spaced)")
    e.add_argument("--csv", default=None, help="also write the table here")

    b = sub.add_parser("bench", help="benchmarks: metrics | models | plan (options after the name)", parents=[common])
    b.add_argument("name", choices=["metrics", "models", "plan"])
    b.add_argument("rest", nargs=argparse.REMAINDER)

    x = sub.add_parser("export", help="export a model to ONNX and check it against PyTorch", parents=[common])
    x.add_argument("model", help="a registry name (e.g. skd_st) or a run folder")
    x.add_argument("--checkpoint", default=None, help="a checkpoint file or run folder with the weights")
    x.add_argument("--res", type=_positive_int, default=64)
    x.add_argument("--out", required=True, help="the .onnx file to write")
    x.add_argument("--atol", type=float, default=1e-4)
    x.add_argument("--allow-unfinished", action="store_true",
                   help="export the weights of a run that stopped before its end (default: refuse it)")

    from salkd import weights

    weights.add_cli(sub, parents=[common])
    pr = sub.add_parser("predict", help="run a trained student on a video file or a frame folder", parents=[common])
    pr.add_argument("source", help="a video file (any OpenCV-readable format) or a folder of frames")
    pr.add_argument("--run", required=True, help="the run folder of a trained model")
    pr.add_argument("--res", type=_positive_int, default=None, help="input resolution (default: the run's)")
    pr.add_argument("--out", required=True, help="the overlay video to write (.mp4)")
    pr.add_argument("--device", default="auto")
    pr.add_argument("--batch", type=_positive_int, default=32, help="frames per forward pass (default 32)")
    pr.add_argument("--allow-unfinished", action="store_true",
                    help="run the weights of a run that stopped before its end (default: refuse it)")
    return p


def data_map(items: list[str] | None) -> dict[str, str]:
    d = kv(items, "--data")
    bad = set(d) - {"fixation", "vsod"}
    if bad:
        raise ValueError(f"--data takes fixation=PATH or vsod=PATH, not {sorted(bad)}")
    return d
