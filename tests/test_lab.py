"""JupyterLab as an interface: outputs never reach git, interactive runs never rewrite figures/,
and ``make lab`` starts JupyterLab on 127.0.0.1 with a token on the project's kernel."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from salkd import paths

ROOT = Path(__file__).resolve().parents[1]
NBSTRIP = ROOT / ".venv" / "bin" / "nbstripout"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_notebook_outputs_are_stripped_before_git_stores_them(tmp_path) -> None:
    """A clone configured as `make` configures it stores a notebook saved with outputs without them,
    and keeps the cell ids and the `parameters` tag (papermill needs it)."""
    nbstrip = NBSTRIP if NBSTRIP.exists() else shutil.which("nbstripout")
    if nbstrip is None:
        pytest.fail("nbstripout is not installed: it is a dependency of salkd (pyproject.toml)")
    mk = (ROOT / "Makefile").read_text()
    assert "filter.nbstripout.clean" in mk and "--keep-id" in mk
    assert "*.ipynb filter=nbstripout" in (ROOT / ".gitattributes").read_text()

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    _git(repo, "config", "filter.nbstripout.clean", f"'{nbstrip}' --keep-id")
    _git(repo, "config", "filter.nbstripout.smudge", "cat")
    nb = json.loads((ROOT / "notebooks" / "10_explore.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, c in enumerate(code):  # as JupyterLab saves an executed notebook
        c["execution_count"] = i + 1
        c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["result\n"]},
                        {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo="}, "metadata": {}}]
    (repo / "09.ipynb").write_text(json.dumps(nb, indent=1))
    _git(repo, "add", "09.ipynb")
    stored = json.loads(_git(repo, "show", ":09.ipynb"))
    stored_code = [c for c in stored["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in stored_code)
    assert [c.get("id") for c in stored["cells"]] == [c.get("id") for c in nb["cells"]]
    assert any("parameters" in c.get("metadata", {}).get("tags", []) for c in stored_code)
    # the committed notebooks are already clean: the filter changes none of them
    nbs = [str(p) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
    out = subprocess.run([str(nbstrip), "--keep-id", "--verify", *nbs], capture_output=True, text=True)
    assert out.returncode == 0, f"notebooks with outputs or stray metadata: {out.stdout}{out.stderr}"


def test_figures_go_to_runs_unless_refreshing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SALKD_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("SALKD_FIGURES", str(tmp_path / "figures"))
    monkeypatch.delenv("SALKD_REFRESH_FIGURES", raising=False)
    assert paths.figures_dir("quick") == tmp_path / "runs" / "quick" / "figures"  # JupyterLab by hand
    assert paths.figures_dir("real-cpu") == tmp_path / "runs" / "real-cpu" / "figures"
    monkeypatch.setenv("SALKD_REFRESH_FIGURES", "1")                                # make reproduce
    assert paths.figures_dir("quick") == tmp_path / "figures"
    assert paths.figures_dir("real-cpu") == tmp_path / "runs" / "real-cpu" / "figures"


def test_make_reproduce_refreshes_and_lab_is_local_with_a_token() -> None:
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "reproduce"], cwd=ROOT, capture_output=True, text=True)
    assert "--refresh-figures" in dry.stdout
    dry = subprocess.run(["make", "-n", "reproduce", "PROFILE=real-cpu"], cwd=ROOT, capture_output=True, text=True)
    assert "--refresh-figures" not in dry.stdout
    lab = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True).stdout
    assert re.search(r"jupyter lab .*--ServerApp\.ip=127\.0\.0\.1", lab.replace("\\\n", " "))
    assert "token=''" not in lab and "IdentityProvider.token=" not in lab  # Jupyter's own random token


def test_reproduce_key_depends_on_where_figures_go(tmp_path, monkeypatch) -> None:
    """A quick run that now refreshes figures/ reruns its report instead of skipping the stamped one."""
    from salkd import reproduce as R

    seen: list[dict] = []
    monkeypatch.setattr(R, "notebook_key", lambda nb, params, prev: seen.append(dict(params)) or "k")
    monkeypatch.setattr(R, "notebook_paths", lambda folder=None: [])
    monkeypatch.setenv("SALKD_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("SALKD_REFRESH_FIGURES", "0")  # restored after the test (reproduce sets it to 1)
    R.reproduce("quick", progress=False)
    assert seen == []  # no notebooks: nothing keyed, nothing run
    nb = tmp_path / "00_x.ipynb"
    nb.write_text("{}")
    monkeypatch.setattr(R, "notebook_paths", lambda folder=None: [nb])
    monkeypatch.setattr(R, "select", lambda nbs, only: [])
    R.reproduce("quick", progress=False)
    R.reproduce("quick", progress=False, refresh_figures=True)
    assert seen[0]["FIGURES"] != seen[1]["FIGURES"]
