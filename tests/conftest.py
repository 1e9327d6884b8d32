"""Test-session settings: every salkd output goes to a temporary folder, progress bars are off.

The variables are set at import time so that the notebook kernels nbmake starts inherit them
(the notebooks then run on the smoke profile and never touch the repository's runs/ or figures/).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="salkd-tests-"))
os.environ.setdefault("SALKD_PROFILE", "smoke")
os.environ.setdefault("SALKD_RUNS", str(_ROOT / "runs"))
os.environ.setdefault("SALKD_DATA", str(_ROOT / "data"))
os.environ.setdefault("SALKD_CACHE", str(_ROOT / "cache"))
os.environ.setdefault("SALKD_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
