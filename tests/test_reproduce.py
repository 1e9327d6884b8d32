"""salkd.reproduce: stamps, skipping, failure reporting and resuming, on tiny throwaway notebooks."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from salkd import paths
from salkd import reproduce as rp

PARAMS = ('PROFILE = None\nDATA_FIXATION = None\nDATA_VSOD = None\nOUT = None\nSEED = 0\n'
          'DEVICE = "auto"\nRETRAIN = False')


def _write_nb(path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture()
def nbdir(tmp_path, monkeypatch):
    """Three notebooks in a tmp folder; each appends its name to a log; 01 fails until a flag file exists."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    log = tmp_path / "log.txt"
    flag = tmp_path / "flag"
    record = f"open({str(log)!r}, 'a').write(__NAME__ + ' ' + str(PROFILE) + ' ' + str(RETRAIN) + '\\n')"
    _write_nb(folder / "00_first.ipynb", record.replace("__NAME__", "'00'"))
    _write_nb(folder / "01_second.ipynb", "x = 1",
              f"import os\nif not os.path.exists({str(flag)!r}):\n    raise RuntimeError('boom in second')",
              record.replace("__NAME__", "'01'"))
    _write_nb(folder / "02_third.ipynb", record.replace("__NAME__", "'02'"))
    (folder / "README.md").write_text("not a notebook")
    monkeypatch.setattr(paths, "notebooks_dir", lambda: folder)
    return {"folder": folder, "log": log, "flag": flag, "out": tmp_path / "runs"}


def _ran(log: Path) -> list[str]:
    return [ln.split()[0] for ln in log.read_text().splitlines()] if log.exists() else []


def _status(outcomes) -> dict[str, str]:
    return {o.name: o.status for o in outcomes}


def test_fail_resume_skip_force(nbdir, capsys):
    out, log, flag = nbdir["out"], nbdir["log"], nbdir["flag"]
    res: list = []
    code = rp.reproduce("smoke", out=out, progress=False, timeout=60, outcomes=res)
    assert code != 0
    assert _status(res) == {"00_first": "ran", "01_second": "failed", "02_third": "not run"}
    failed = res[1]
    # the error names the notebook and the failing cell (cell 2: parameters=0, injected params=1 shifts it)
    assert "01_second" in failed.error and "cell" in failed.error and "boom in second" in failed.error
    err = capsys.readouterr().err
    assert "01_second" in err and "boom in second" in err
    assert _ran(log) == ["00"]
    # executed copy of the failed notebook is kept for inspection; only the success is stamped
    nbdir_out = out / "smoke" / "notebooks"
    assert (nbdir_out / "00_first.ipynb").is_file() and (nbdir_out / "01_second.ipynb").is_file()
    assert sorted(p.name for p in (nbdir_out / ".stamps").iterdir()) == ["00_first.json"]

    # fix the failure: the next call skips 00 and continues at 01
    flag.write_text("ok")
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, timeout=60, outcomes=res) == 0
    assert _status(res) == {"00_first": "skipped", "01_second": "ran", "02_third": "ran"}
    assert _ran(log) == ["00", "01", "02"]
    summary = capsys.readouterr().out
    assert "notebook" in summary and "status" in summary and "skipped" in summary

    # nothing changed: everything skipped, no kernel started
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, outcomes=res) == 0
    assert set(_status(res).values()) == {"skipped"}
    assert _ran(log) == ["00", "01", "02"]

    # force ignores the stamps (only= restricts to one notebook)
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, force=True, only=["02"], outcomes=res) == 0
    assert _status(res) == {"02_third": "ran"}
    assert _ran(log)[-1] == "02"


def test_changes_invalidate_stamps(nbdir):
    out, log, flag, folder = nbdir["out"], nbdir["log"], nbdir["flag"], nbdir["folder"]
    flag.write_text("ok")
    assert rp.reproduce("smoke", out=out, progress=False, only=["first", "02_third.ipynb"]) == 0
    assert _ran(log) == ["00", "02"]
    # editing notebook 00 reruns it and (by the chained key) the notebooks after it
    nb = nbformat.read(str(folder / "00_first.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("edited"))
    nbformat.write(nb, str(folder / "00_first.ipynb"))
    res: list = []
    assert rp.reproduce("smoke", out=out, progress=False, only=["00", "02"], outcomes=res) == 0
    assert _status(res) == {"00_first": "ran", "02_third": "ran"}
    # different parameters (retrain) -> a different key; the parameter reaches the notebook
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, only=["00"], retrain=True, outcomes=res) == 0
    assert _status(res) == {"00_first": "ran"}
    assert log.read_text().splitlines()[-1] == "00 smoke True"
    stamp = json.loads((out / "smoke" / "notebooks" / ".stamps" / "00_first.json").read_text())
    assert stamp["parameters"]["RETRAIN"] is True and stamp["parameters"]["PROFILE"] == "smoke"


def test_a_new_config_or_salkd_code_reruns_the_notebooks(nbdir, monkeypatch):
    """After a git pull that changes a profile's settings or salkd's code, nothing is skipped as "unchanged"."""
    from salkd import config
    from salkd.bench import cache

    out, flag = nbdir["out"], nbdir["flag"]
    flag.write_text("ok")
    assert rp.reproduce("smoke", out=out, progress=False) == 0
    res: list = []
    assert rp.reproduce("smoke", out=out, progress=False, outcomes=res) == 0
    assert set(_status(res).values()) == {"skipped"}
    smoke = {**config.PROFILES["smoke"], "skd": {**config.PROFILES["smoke"]["skd"], "epochs": 5}}
    monkeypatch.setitem(config.PROFILES, "smoke", smoke)
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, outcomes=res) == 0
    assert set(_status(res).values()) == {"ran"}
    monkeypatch.setattr(cache, "code_hash", lambda *p: "another-version")
    res = []
    assert rp.reproduce("smoke", out=out, progress=False, outcomes=res) == 0
    assert set(_status(res).values()) == {"ran"}


def test_keys_and_selection(nbdir, tmp_path):
    nbs = rp.notebook_paths()
    assert [p.stem for p in nbs] == ["00_first", "01_second", "02_third"]
    assert [p.stem for p in rp.select(nbs, ["third", "00"])] == ["00_first", "02_third"]
    with pytest.raises(ValueError, match="unknown notebook"):
        rp.select(nbs, ["nope"])
    k1 = rp.notebook_key(nbs[0], {"PROFILE": "smoke"})
    assert k1 == rp.notebook_key(nbs[0], {"PROFILE": "smoke"})
    assert k1 != rp.notebook_key(nbs[0], {"PROFILE": "quick"})
    assert k1 != rp.notebook_key(nbs[0], {"PROFILE": "smoke"}, previous="x")
    with pytest.raises(KeyError):
        rp.reproduce("no-such-profile", out=tmp_path / "r", progress=False)


def test_real_notebooks_are_clean():
    """The committed notebooks: kernelspec python3, no outputs, one literal-only parameters cell."""
    import ast

    folder = Path(__file__).resolve().parents[1] / "notebooks"
    nbs = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not nbs:
        pytest.skip("no notebooks yet")
    for p in nbs:
        nb = nbformat.read(str(p), as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", p.name
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{p.name}: {len(tagged)} parameters cells"
        for node in ast.parse(tagged[0].source).body:
            assert isinstance(node, ast.Assign), p.name
            ast.literal_eval(node.value)
        for c in nb.cells:
            if c.cell_type == "code":
                assert c.get("outputs") == [] and c.get("execution_count") is None, f"{p.name} has outputs"


def test_a_second_reproduce_into_one_out_stops_at_once(nbdir):
    """Two ``salkd reproduce`` into one ``--out``: the second stops before any notebook, naming the folder."""
    import multiprocessing as mp

    from salkd.locks import BusyError, locked

    dest = nbdir["out"] / "smoke" / "notebooks"
    ready, release = mp.Event(), mp.Event()

    def hold() -> None:
        with locked(dest, wait=False, what="reproduce output folder"):
            ready.set()
            release.wait(30)

    p = mp.get_context("fork").Process(target=hold)
    p.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BusyError, match=f"reproduce output folder {dest} is in use"):
            rp.reproduce("smoke", out=nbdir["out"], progress=False, timeout=60)
    finally:
        release.set()
        p.join(30)
    assert _ran(nbdir["log"]) == []


def test_kernels_write_their_own_messages_to_a_log(tmp_path, monkeypatch):
    """A kernel's stderr (start-up warnings, the zmq traceback of a Ctrl-C) goes to kernel.log, not the terminal."""
    import asyncio

    log = tmp_path / "notebooks" / "kernel.log"
    cls = rp._kernel_manager(log)
    seen = {}

    async def fake_start(self, **kw):
        seen.update(kw)

    monkeypatch.setattr(cls, "_async_start_kernel", fake_start)
    asyncio.run(cls().start_kernel(cwd=str(tmp_path)))
    assert seen["stderr"].name == str(log) and seen["cwd"] == str(tmp_path) and log.is_file()
