"""Notebook 09 reports on the data it is given: DATA_FIXATION reaches the tables' ``data`` column."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_fixtures import make_dhf1k
from salkd import paths


def _fake_results(root: Path) -> None:
    """skd Table IV results of two fake runs, each with its per-video evaluation file."""
    rows = []
    for variant, shift in (("full", 0.3), ("Ablation-O", 0.0)):
        run = root / "smoke" / "skd_st" / variant
        run.mkdir(parents=True)
        nss = 1.0 + shift + 0.1 * np.arange(4)
        ev = pd.DataFrame({"nss": nss}, index=[f"v{i}" for i in range(4)])
        ev.loc["overall"] = [nss.mean()]
        ev.index.name = "video"
        ev.to_csv(run / "eval_test.csv")
        rows.append({"experiment": "skd_table4", "variant": variant, "paper": "skd", "teacher": "dva", "res": 32,
                     "run": str(run), "split": "test", "eval_file": "eval_test.csv", "nss": nss.mean()})
    (root / "smoke" / "results").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(root / "smoke" / "results" / "skd_table4.csv", index=False)


def test_notebook_08_describes_the_users_dataset(tmp_path: Path) -> None:
    import papermill as pm

    data = make_dhf1k(tmp_path / "my-gaze-videos", n_videos=3, n_frames=6)
    runs = tmp_path / "runs"
    _fake_results(runs)
    pm.execute_notebook(str(paths.notebooks_dir() / "09_figures_tables.ipynb"), str(tmp_path / "09.ipynb"),
                        parameters={"PROFILE": "smoke", "DATA_FIXATION": str(data), "OUT": str(runs)},
                        kernel_name="python3", progress_bar=False, cwd=str(paths.home()))
    table = pd.read_csv(runs / "smoke" / "figures" / "skd_table4.csv")
    assert set(table["data"]) == {"smoke: user data my-gaze-videos (test split)"}
    claims = (runs / "smoke" / "figures" / "CLAIMS.md").read_text()
    assert "user data my-gaze-videos" in claims
