"""salkd.nbtools, the notebooks' namespace: setup(), the main-run picker, the papers' numbers, and
that every notebook uses one setup call after one literal-only parameters cell."""
from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from salkd import nbtools

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PARAMS = ["PROFILE", "DATA_FIXATION", "DATA_VSOD", "OUT", "SEED", "DEVICE", "RETRAIN"]
CFG = {"teacher": {"spatial": ["dva", "salnet"], "temporal": "tsnet"},
       "skd": {"teachers": ["salnet", "dva"], "res": 32, "mu": 0.5},
       "uvanet": {"teachers": ["dva"], "res": 64, "mu": 0.5},
       "fastvsod": {"res": 64, "alpha": 0.7}}


def _ctx(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(cfg=CFG, runs_root=tmp_path, profile="p")


# ---- setup -----------------------------------------------------------------------------------
def test_setup_builds_the_context_sets_display_options_and_prints_one_line(tmp_path, capsys):
    with pd.option_context("display.width", 80, "display.max_columns", 5):
        ctx = nbtools.setup("smoke", tmp_path / "fix", None, tmp_path / "runs", 3, "cpu", True)
        assert pd.get_option("display.width") == 180 and pd.get_option("display.max_columns") == 30
    assert ctx.profile == "smoke" and ctx.seed == 3 and str(ctx.device) == "cpu" and ctx.force is True
    assert Path(ctx.runs_root) == tmp_path / "runs"
    assert ctx.user_data("fixation") and not ctx.user_data("vsod")
    assert Path(ctx.data["fixation"]) == tmp_path / "fix"
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"profile 'smoke', runs in {tmp_path / 'runs' / 'smoke'}, device cpu"]


def test_setup_defaults_match_the_parameters_cell(monkeypatch, capsys):
    monkeypatch.setenv("SALKD_PROFILE", "smoke")
    with pd.option_context("display.width", 80):
        ctx = nbtools.setup(None, None, None, None, 0, "auto", False)
    assert ctx.profile == "smoke" and not ctx.user_data("fixation") and not ctx.user_data("vsod")
    assert ctx.seed == 0 and ctx.force is False


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_has_one_literal_parameters_cell_and_one_setup_call(nb: Path):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse("".join(tagged[0]["source"]))
    assert [t.id for s in tree.body for t in s.targets] == PARAMS
    assert all(isinstance(s.value, ast.Constant) for s in tree.body)
    setup = [c for c in code if "nbtools.setup(" in "".join(c["source"])]
    assert len(setup) == 1 and code.index(setup[0]) == code.index(tagged[0]) + 1
    assert f"ctx = nbtools.setup({', '.join(PARAMS)})" in "".join(setup[0]["source"])
    for c in code:
        src = "".join(c["source"])
        assert "pipeline.context(" not in src and "load_results" not in src and "pipeline.run_" not in src.replace(
            "pipeline.run_data", "").replace("pipeline.run_speed", "")
        assert not c["outputs"] and c["execution_count"] is None


# ---- picking the main runs -------------------------------------------------------------------
def test_main_runs_picks_the_profiles_teacher_and_resolution(tmp_path):
    ctx = _ctx(tmp_path)
    df = pd.DataFrame({"variant": ["S_s", "S_t", "S_s", "S_t", "S_s"],
                       "teacher": ["dva", "dva", "salnet", "salnet", "salnet"],
                       "res": [32, 32, 32, 32, 64], "run": list("abcde")})
    assert list(nbtools.main_runs(ctx, df, "skd")["run"]) == ["c", "d"]
    assert list(nbtools.main_runs(ctx, df, "uvanet")["run"]) == ["a", "b"]  # uvanet's res 64 not run for dva
    assert list(nbtools.main_runs(ctx, df[df["teacher"] == "dva"], "skd")["run"]) == ["a", "b"]  # no salnet at all
    assert list(nbtools.main_runs(ctx, df.drop(columns="res"), "skd")["run"]) == ["c", "d", "e"]
    with pytest.raises(ValueError, match="paper must be"):
        nbtools.main_runs(ctx, df, "nope")


def test_main_runs_prefers_the_profiles_mu_and_alpha_over_the_sweeps(tmp_path):
    ctx = _ctx(tmp_path)
    mu = pd.DataFrame({"teacher": ["salnet"] * 3, "res": [32] * 3, "mu": [0.0, 0.5, 1.0], "run": list("abc")})
    assert list(nbtools.main_runs(ctx, mu, "skd")["run"]) == ["b"]
    alpha = pd.DataFrame({"res": [64] * 4, "alpha": [0.1, 0.5, 0.7, 0.9], "run": list("abcd")})
    assert list(nbtools.main_runs(ctx, alpha, "fastvsod")["run"]) == ["c"]


def _run(root: Path, stage: str, name: str, **cfg) -> None:
    d = root / "p" / stage / name
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"stage": stage, **cfg}))
    (d / "metrics.json").write_text("{}")
    (d / "checkpoint.pt").write_bytes(b"")


def test_main_selection_of_run_folders_follows_the_profile_not_the_alphabet(tmp_path):
    ctx = _ctx(tmp_path)
    _run(tmp_path, "teachers", "dva-fixation", arch="dva", res=[96, 96])
    _run(tmp_path, "teachers", "salnet-fixation", arch="salnet", res=[96, 96])
    _run(tmp_path, "teachers", "tsnet-fixation", arch="tsnet", res=[96, 96])
    for name in ("dva-32-mu0", "salnet-32-mu0", "salnet-32-mu0.5", "salnet-64-mu0.5", "scratch-32"):
        _run(tmp_path, "skd_st", name, res=int(name.split("-")[1]))
    for name in ("cares-dva-32", "cares-dva-64", "cares-scratch-64", "mb-dva-64"):
        _run(tmp_path, "uva_st", name, block=name.split("-")[0], res=int(name.split("-")[2]))
    _run(tmp_path, "fastvsod_stage1", "resnet18-64", res=64)
    for tag, sd, td, fe, fusion, a in [("BS", False, False, None, "attention", 0.7),
                                       ("SD+TD+FE_o", True, True, "train", "attention", 0.1),
                                       ("SD+TD+FE_o", True, True, "train", "attention", 0.7),
                                       ("SD+TD+FE_o", True, True, "train", "multiply", 0.7)]:
        _run(tmp_path, "fastvsod_stage2", f"{tag}-{fusion}-a{a:g}", sd=sd, td=td, fe=fe, fusion=fusion, alpha=a, res=64)
    fix = nbtools.run_table(ctx, nbtools.FIXATION_STAGES)
    assert len(fix) == 3 + 5 + 4
    row = fix.set_index("label").loc["skd_st/salnet-32-mu0.5"]
    assert (row["teacher"], row["res"], row["mu"]) == ("salnet", 32, 0.5)
    assert nbtools.main_selection(ctx, fix, "fixation") == [
        "teachers/dva-fixation", "skd_st/salnet-32-mu0.5", "uva_st/cares-dva-64"]
    vsod = nbtools.run_table(ctx, nbtools.VSOD_STAGES)
    assert nbtools.main_selection(ctx, vsod, "vsod") == [
        "fastvsod_stage1/resnet18-64", "fastvsod_stage2/SD+TD+FE_o-attention-a0.7"]


def test_teacher_runs_reads_the_teachers_results(tmp_path):
    ctx = _ctx(tmp_path)
    (tmp_path / "p" / "results").mkdir(parents=True)
    pd.DataFrame({"variant": ["dva", "salnet", "tsnet"], "run": ["/r/dva", "/r/salnet", "/r/tsnet"]}).to_csv(
        tmp_path / "p" / "results" / "teachers.csv", index=False)
    assert nbtools.teacher_runs(ctx, "skd") == {"T_s (salnet)": "/r/salnet", "T_t (tsnet)": "/r/tsnet"}
    assert nbtools.teacher_runs(ctx, "uvanet", spatial="T_spa", temporal=None) == {"T_spa (dva)": "/r/dva"}


# ---- the papers' numbers ---------------------------------------------------------------------
def test_paper_tables_come_from_salkd_papers_numbers():
    from salkd.papers.numbers import PAPER, SPEED

    speed = nbtools.paper_speed()
    assert len(speed) == len(SPEED)
    assert speed.loc[("skd_st", 64), "cpu_fps"] == SPEED[("skd_st", 64)]["cpu_fps"]
    t1 = nbtools.paper_table("skd_table1", ["SKD-DVA-64"])
    assert t1.loc["SKD-DVA-64", "nss"] == PAPER["skd_table1"]["SKD-DVA-64"]["nss"]
    t3 = nbtools.paper_table("uva_table3")
    assert t3.loc[("dva", 64), "nss"] == PAPER["uva_table3"][("dva", 64)]["nss"]
    assert nbtools.paper_table("fastvsod_table3").loc["full", "max_f"] == PAPER["fastvsod_table3"]["full"][0]
    with pytest.raises(KeyError, match="no"):
        nbtools.paper_table("skd_table1", ["SKD-DVA-128"])


def test_run_label_is_gone():
    assert not hasattr(nbtools, "run_label")


# ---- settings of this run beside the paper's (issue 12: notebook text matches the run) ------------------------
@pytest.mark.parametrize("profile", ["smoke", "quick", "real-cpu", "paper"])
def test_settings_table_reads_the_run_settings_from_the_config(profile):
    from salkd.config import get_profile
    from salkd.papers.numbers import SETTINGS

    cfg = get_profile(profile, {"skd.batch": 24, "fastvsod.lr2": 5e-4})
    ctx = SimpleNamespace(profile=profile, cfg=cfg, data=None)
    one = nbtools.settings_table(ctx, "skd_students")
    assert list(one.columns) == ["this run", "paper"] and one.index.name == "setting"
    assert one.loc["batch", "this run"] == "24" and one.loc["batch", "paper"] == SETTINGS["skd_students"]["batch"]
    assert one.loc["optimizer, lr", "this run"] == f"Adam, {cfg['skd']['lr']:g}"
    assert one.loc["arithmetic", "this run"] == (f"{cfg['precision']}, channels-last (NHWC) layout"
                                                 if cfg["channels_last"] else f"{cfg['precision']}, contiguous (NCHW) layout")
    many = nbtools.settings_table(ctx, *nbtools.SETTING_STAGES)
    assert many.loc["fastvsod stage 2: optimizer, lr", "this run"].startswith("SGD, 0.0005, momentum 0.95")
    assert many.loc["fastvsod stage 1: pretrained", "this run"].startswith(
        "yes" if cfg["fastvsod"].get("pretrained") else "no (from scratch)")
    assert many.loc["uvanet S: batch", "this run"] == str(cfg["uvanet"]["batch"])
    for stage in nbtools.SETTING_STAGES:      # every setting the paper states has a value of ours
        for key in SETTINGS[stage]:
            label = f"{nbtools.SETTING_STAGES[stage]}: {key}"
            assert many.loc[label, "this run"] not in ("", "—"), label
    teachers = nbtools.settings_table(ctx, "teachers")
    published = profile == "real-cpu"
    assert ("published weights" in teachers.loc["pretrained", "this run"]) == published
    assert (teachers.loc["batch", "this run"] == "n/a (not trained here)") == published
    with pytest.raises(ValueError, match="unknown stage"):
        nbtools.settings_table(ctx, "nope")


@pytest.mark.parametrize("nb", [p for p in NOTEBOOKS if p.name[:2] in {"01", "02", "03", "04", "05", "06"}],
                         ids=lambda p: p.name)
def test_each_training_notebook_prints_its_settings_beside_the_papers(nb: Path):
    cells = json.loads(nb.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert sum("nbtools.settings_table(ctx" in c for c in code) == 1
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code")
