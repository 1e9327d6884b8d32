"""Released weights of the pretrained teachers: where they come from, their licenses, getting them.

The registry names every file with its path inside a weights folder (the layout of
``../shared/weights``), the authors' download URL at a fixed commit, and its SHA256. ``get(name)``
downloads the files of a model with a progress bar, checks each SHA256 and writes atomically; a
file with the wrong checksum is an error and nothing of it is kept.

* CSNet-L: S.-H. Gao et al., *Highly Efficient Salient Object Detection with 100K Parameters*,
  ECCV 2020; github ShangHua-Gao/SOD100K, folder ``CSNet/``; CC BY-NC-SA 4.0 (non-commercial only).
* TinyHD: F. Hu et al., *TinyHD: Efficient Video Saliency Prediction with Heterogeneous Decoders
  using Hierarchical Maps Distillation*, WACV 2023; github feiyanhu/tinyHD, folder ``weights/``;
  the repository has no license file, so no reuse rights are stated (ask the authors).

Command line (wired by ``salkd.cli``): ``salkd weights`` lists them, ``salkd weights get NAME [--dir D]``.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from salkd.atomic import atomic_path

__all__ = ["WeightFile", "WeightsEntry", "REGISTRY", "WeightsError", "names", "entry", "list_weights",
           "find", "get", "sha256_file", "add_cli", "run_cli"]

_CSNET_REPO = "https://github.com/ShangHua-Gao/SOD100K"
_CSNET_COMMIT = "2176012"
_CSNET_RAW = f"https://raw.githubusercontent.com/ShangHua-Gao/SOD100K/{_CSNET_COMMIT}/CSNet/checkpoints"
_TINYHD_REPO = "https://github.com/feiyanhu/tinyHD"
_TINYHD_COMMIT = "2657310d41501384fc367b4615bc9f27e679b09b"
_TINYHD_RAW = f"https://raw.githubusercontent.com/feiyanhu/tinyHD/{_TINYHD_COMMIT}/weights"
_CSNET_LICENSE = "CC BY-NC-SA 4.0 (non-commercial use only)"
_TINYHD_LICENSE = "none stated (no license file in the repository; ask the authors before reuse)"


class WeightsError(RuntimeError):
    """A download that failed or did not match its checksum."""


@dataclass(frozen=True)
class WeightFile:
    """One file: ``path`` inside a weights folder, the authors' ``url`` and its ``sha256``."""

    path: str
    url: str
    sha256: str


@dataclass(frozen=True)
class WeightsEntry:
    """A model's weights: ``files[0]`` is the checkpoint, further files are needed beside it."""

    name: str
    title: str
    files: tuple[WeightFile, ...]
    source: str
    license: str
    citation: str

    @property
    def file(self) -> str:
        return self.files[0].path


def _csnet(width: str, sha_pth: str, sha_bin: str) -> WeightsEntry:
    stem = f"csnet-L-{width}"
    return WeightsEntry(
        name=f"csnet_{width}", title=f"CSNet-L-{width} (salient object detection, DUTS-TR)",
        files=(WeightFile(f"csnet/{stem}.pth.tar", f"{_CSNET_RAW}/{stem}/{stem}.pth.tar", sha_pth),
               WeightFile(f"csnet/{stem}.bin", f"{_CSNET_RAW}/{stem}/{stem}.bin", sha_bin)),
        source=f"{_CSNET_REPO}/tree/{_CSNET_COMMIT}/CSNet", license=_CSNET_LICENSE,
        citation="S.-H. Gao et al., Highly Efficient Salient Object Detection with 100K Parameters, ECCV 2020")


def _tinyhd(variant: str, sha: str) -> WeightsEntry:
    fname = f"d123{variant}_rc4_rc1T.pth"
    kind = "one map per clip" if variant == "s" else "one map per frame"
    return WeightsEntry(
        name=f"tinyhd_{variant}", title=f"TinyHD-{variant.upper()} (video fixation prediction, DHF1K; {kind})",
        files=(WeightFile(f"tinyhd/{fname}", f"{_TINYHD_RAW}/{fname}", sha),),
        source=f"{_TINYHD_REPO}/tree/{_TINYHD_COMMIT}/weights", license=_TINYHD_LICENSE,
        citation="F. Hu et al., TinyHD: Efficient Video Saliency Prediction with Heterogeneous Decoders "
                 "using Hierarchical Maps Distillation, WACV 2023")


# SHA256 as in ../shared/weights/SHA256SUMS
REGISTRY: dict[str, WeightsEntry] = {e.name: e for e in (
    _csnet("x2", "8d72d13a0edbbd6e5a682ea3e39f4193077f570c8c4c147201083316e0c9490f",
           "cdb0dd6b4a7f1163c2fe6000edd334a5d08b5a96445d0603845201afc3a0ac21"),
    _csnet("x1", "581f02dad8f7333329264fcdf5710111db947246ad43852d3aa0518393157995",
           "d54420afc4270a7b2bd96ae7db74c10c2fe86acc505d938794f623892b7472ad"),
    _tinyhd("s", "939f818117dda22faa1232127f479c107e7932398c2b1901a963c6fe93b3413c"),
    _tinyhd("m", "53e8a306d3e260f6c236e99694bec5852ee208b21d816d93a2918c1828771958"),
)}


def names() -> list[str]:
    return list(REGISTRY)


def entry(name: str) -> WeightsEntry:
    if name not in REGISTRY:
        raise KeyError(f"unknown pretrained model {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def _search_dirs() -> list[Path]:
    from salkd import paths

    out: list[Path] = []
    for d in (paths.weights_dir(), paths.shared_weights()):
        if d not in out:
            out.append(d)
    return out


def find(name: str) -> Path | None:
    """The checkpoint of ``name`` in ``$SALKD_WEIGHTS`` (or ``<cache>/weights``) or in
    ``../shared/weights``, when all of its files are there; else None."""
    e = entry(name)
    for d in _search_dirs():
        if all((d / f.path).is_file() for f in e.files):
            return d / e.file
    return None


def list_weights() -> list[dict[str, str | bool]]:
    """One row per model: name, file, source, license, sha256 (of the checkpoint), present, path."""
    rows = []
    for e in REGISTRY.values():
        found = find(e.name)
        rows.append({"name": e.name, "file": e.file, "source": e.source, "license": e.license,
                     "sha256": e.files[0].sha256, "present": found is not None,
                     "path": str(found) if found else ""})
    return rows


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _progress(total: int | None, desc: str, enabled: bool) -> Iterator[object]:
    from tqdm.auto import tqdm

    disable = not enabled or os.environ.get("SALKD_PROGRESS", "1") == "0"
    bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=disable, leave=False)
    try:
        yield bar
    finally:
        bar.close()


def _download(url: str, dest: Path, sha256: str, progress: bool, timeout: float) -> None:
    """Fetch ``url`` to ``dest`` atomically; the checksum is verified before the file appears."""
    with atomic_path(dest) as tmp:
        h = hashlib.sha256()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                size = resp.headers.get("Content-Length")
                with _progress(int(size) if size and size.isdigit() else None, dest.name, progress) as bar:
                    for chunk in iter(lambda: resp.read(1 << 16), b""):
                        out.write(chunk)
                        h.update(chunk)
                        bar.update(len(chunk))  # type: ignore[attr-defined]
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise WeightsError(f"downloading {url} failed: {exc}") from None
        got = h.hexdigest()
        if got != sha256:
            raise WeightsError(f"{url}: SHA256 mismatch (expected {sha256}, got {got}); nothing was kept. "
                               "The file changed upstream or the download was corrupted.")


def get(name: str, dest_dir: str | os.PathLike | None = None, base_url: str | None = None,
        progress: bool = True, timeout: float = 60.0, force: bool = False) -> Path:
    """Download the weights of ``name`` into ``dest_dir`` (default ``$SALKD_WEIGHTS`` or
    ``<cache>/weights``) and return the checkpoint's path.

    ``base_url`` replaces the authors' URLs by ``<base_url>/<file path>`` (a mirror of the
    ``../shared/weights`` layout). Files already present with the right SHA256 are kept (unless
    ``force``); a wrong checksum raises :class:`WeightsError` and leaves nothing of that file.
    """
    from salkd import paths

    e = entry(name)
    root = Path(dest_dir).expanduser() if dest_dir is not None else paths.weights_dir()
    written: list[Path] = []
    try:
        for f in e.files:
            target = root / f.path
            if not force and target.is_file() and sha256_file(target) == f.sha256:
                continue
            url = f"{base_url.rstrip('/')}/{f.path}" if base_url else f.url
            existed = target.exists()
            _download(url, target, f.sha256, progress, timeout)
            if not existed:
                written.append(target)
    except BaseException:
        for p in written:  # all files of a model or none: CSNet needs its .bin beside the .pth.tar
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return root / e.file


# ---------------------------------------------------------------------------------------------- CLI
def add_cli(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser] | None = None) -> argparse.ArgumentParser:
    """Add ``weights`` (list) and ``weights get NAME [--dir D] [--base-url URL]`` to a subparsers object."""
    w = subparsers.add_parser("weights", parents=parents or [],
                              help="list the pretrained teachers' weights, or download one (weights get NAME)")
    wsub = w.add_subparsers(dest="weights_cmd")
    g = wsub.add_parser("get", parents=parents or [], help="download a model's weights and check their SHA256")
    g.add_argument("name", choices=names())
    g.add_argument("--dir", default=None, help="destination folder (default $SALKD_WEIGHTS or .cache/weights)")
    g.add_argument("--base-url", default=None, help="a mirror with the layout of shared/weights")
    g.add_argument("--force", action="store_true", help="download even if a valid file is present")
    return w


def run_cli(args: argparse.Namespace) -> int:
    """Run the ``weights`` command; returns the exit code."""
    if getattr(args, "weights_cmd", None) == "get":
        try:
            path = get(args.name, args.dir, base_url=args.base_url, force=args.force)
        except WeightsError as exc:
            print(f"salkd: error: {exc}", file=sys.stderr)
            return 1
        e = entry(args.name)
        print(f"{args.name}: {path} (SHA256 ok)\nlicense: {e.license}\nplease cite: {e.citation}")
        return 0
    for row in list_weights():
        state = f"present at {row['path']}" if row["present"] else f"missing (salkd weights get {row['name']})"
        print(f"{row['name']}\n  file     {row['file']}\n  source   {row['source']}\n"
              f"  license  {row['license']}\n  sha256   {row['sha256']}\n  status   {state}")
    return 0
