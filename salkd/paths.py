"""Where salkd keeps data, caches, runs and figures.

Every path in salkd goes through this module, because papermill runs a notebook with the
repository root as working directory while nbmake runs it from ``notebooks/``. Each location
can be overridden with an environment variable:

=================  =====================================  ==========================
variable           meaning                                default
=================  =====================================  ==========================
``SALKD_HOME``     project root                           the folder holding ``pyproject.toml``
``SALKD_RUNS``     run folders ``<profile>/<stage>/...``  ``<home>/runs``
``SALKD_DATA``     generated (synthetic) datasets         ``<home>/data``
``SALKD_CACHE``    low-res caches, teacher maps, flow     ``<home>/.cache``
``SALKD_FIGURES``  the committed tables and figures        ``<home>/figures`` (written only
                   (``quick``), when refreshing            with ``SALKD_REFRESH_FIGURES=1``)
``SALKD_SHARED``   the real sample data                   ``<home>/../shared/data``
``SALKD_WEIGHTS``  downloaded pretrained weights          ``<cache>/weights``
=================  =====================================  ==========================

``SALKD_DATASETS`` (default ``~/datasets``) holds your copies of the papers' datasets (DUTS-TR, DAVIS,
DAVSOD, AVS1K, ...): the ``paper`` profile names them as ``datasets:<folder>`` (:func:`datasets_dir`).

The released weights kept beside the data (``shared_weights()``) are found next to the shared data
folder: ``<SALKD_SHARED>/../weights``, i.e. ``<home>/../shared/weights`` by default.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home", "runs_dir", "data_dir", "cache_dir", "figures_dir", "refresh_figures", "shared_data", "datasets_dir", "notebooks_dir",
           "weights_dir", "shared_weights"]


def _find_home() -> Path:
    env = os.environ.get("SALKD_HOME")
    if env:
        return Path(env).expanduser().resolve()
    # The package lives in <home>/salkd/ for an editable install; fall back to the cwd search.
    pkg_parent = Path(__file__).resolve().parents[1]
    if (pkg_parent / "pyproject.toml").is_file() and (pkg_parent / "notebooks").is_dir():
        return pkg_parent
    here = Path.cwd().resolve()
    for cand in (here, *here.parents):
        if (cand / "pyproject.toml").is_file() and (cand / "salkd").is_dir():
            return cand
    return here


def home() -> Path:
    """The project root."""
    return _find_home()


def _env_or(name: str, default: Path) -> Path:
    val = os.environ.get(name)
    return Path(val).expanduser().resolve() if val else default


def runs_dir(profile: str | None = None) -> Path:
    """Root of the run folders, or ``<runs>/<profile>`` when a profile is given."""
    root = _env_or("SALKD_RUNS", home() / "runs")
    return root / profile if profile else root


def data_dir() -> Path:
    """Where generated datasets are written."""
    return _env_or("SALKD_DATA", home() / "data")


def cache_dir() -> Path:
    """Low-resolution caches, cached teacher maps and optical flow."""
    return _env_or("SALKD_CACHE", home() / ".cache")


def figures_dir(profile: str | None = None) -> Path:
    """Regenerated tables and figures.

    The committed ``figures/`` folder (``$SALKD_FIGURES``) holds the ``quick`` profile's output and is
    written only when asked: ``make reproduce`` / ``salkd reproduce --refresh-figures`` set
    ``SALKD_REFRESH_FIGURES=1`` for their kernels. Everything else (a notebook run by hand in
    JupyterLab, a smoke or real-data run) writes to ``<runs>/<profile>/figures``, so exploring never
    rewrites tracked files.
    """
    if profile in (None, "quick") and refresh_figures():
        return _env_or("SALKD_FIGURES", home() / "figures")
    return runs_dir(profile or "quick") / "figures"


def refresh_figures() -> bool:
    """True when this process was asked to rewrite the committed ``figures/`` (``SALKD_REFRESH_FIGURES=1``)."""
    return os.environ.get("SALKD_REFRESH_FIGURES", "").strip().lower() in ("1", "true", "yes")


def shared_data() -> Path:
    """The real sample data shipped beside the project (``../shared/data``)."""
    return _env_or("SALKD_SHARED", home().parent / "shared" / "data")


def datasets_dir() -> Path:
    """Where the ``paper`` profile looks for the papers' datasets (``datasets:<name>`` paths)."""
    return _env_or("SALKD_DATASETS", Path.home() / "datasets")


def notebooks_dir() -> Path:
    """The ordered notebooks."""
    return home() / "notebooks"


def weights_dir() -> Path:
    """Where ``salkd weights get`` puts pretrained weights (``$SALKD_WEIGHTS`` or ``<cache>/weights``)."""
    return _env_or("SALKD_WEIGHTS", cache_dir() / "weights")


def shared_weights() -> Path:
    """The released checkpoints kept beside the shared data (``../shared/weights``)."""
    return shared_data().parent / "weights"
