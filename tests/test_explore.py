"""salkd.explore: the explorer of 10_explore on a tiny fixation dataset and an untrained S_st run.

Checks the default selection, the layout (up to MAX_MAPS maps, 5 panels a row), the summary line,
that the widget redraws one output area on every change (one figure and one table), and that a
redraw on cached data prints no progress bar."""
from __future__ import annotations

import json

import pytest
import torch

from data_fixtures import make_dhf1k
from salkd import explore as E
from salkd import nbtools


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("explore")
    data = make_dhf1k(tmp / "dhf1k", n_videos=4, n_frames=6)
    ctx = nbtools.setup("smoke", data, None, tmp / "runs", 0, "cpu", False)
    ctx.progress = True
    from salkd.models import build

    torch.manual_seed(0)
    model = build("skd_st")
    runs = {}
    for name, res in (("dva-16-mu0.5", 16), ("dva-16-mu0", 16), ("dva-32-mu0.5", 32)):
        run = ctx.run_dir("skd_st", name)
        run.mkdir(parents=True, exist_ok=True)
        (run / "config.json").write_text(json.dumps({"stage": "skd_st", "res": res,
                                                     "model": {"name": "skd_st", "kwargs": {}}}))
        torch.save({"model": model.state_dict()}, run / "checkpoint.pt")
        (run / "metrics.json").write_text("{}")
        runs[f"skd_st/{name}"] = run
    ctx.cfg["skd"].update({"teachers": ["dva"], "res": 16, "mu": 0.5})
    return ctx, runs


def test_default_selection_and_static_draw(setup):
    ctx, _ = setup
    table = nbtools.run_table(ctx, nbtools.FIXATION_STAGES)
    ex = nbtools.explore(ctx, table, task="fixation")  # not in IPython: draws, displays nothing
    assert ex.selected == ("skd_st/dva-16-mu0.5",) and ex.widget is None
    assert [a.get_visible() for a in ex.fig.axes] == [True] * 3
    assert list(ex.table.index) == ["skd_st/dva-16-mu0.5"] and {"nss", "cc", "sim"} <= set(ex.table.columns)
    assert "1 of 3 runs shown: skd_st/dva-16-mu0.5" in ex.summary() and "Shift-click" in ex.summary()
    before = ex.table.copy()
    video = ex.video
    ex.update(t=0 if ex.t else 1)
    assert ex.video == video and not ex.table.equals(before)


def test_layout_caps_the_maps_and_wraps_rows(setup):
    ctx, runs = setup
    many = {f"run {i}": runs["skd_st/dva-16-mu0.5"] for i in range(10)}
    ex = nbtools.explore(ctx, many, task="fixation", default_runs=list(many))
    assert len(ex.table) == E.MAX_MAPS == 8
    visible = [a for a in ex.fig.axes if a.get_visible()]
    assert len(visible) == 2 + 8 and len(ex.fig.axes) == 10  # 2 rows of 5
    w, h = ex.fig.get_size_inches()
    assert w / 5 >= 2.0 and h / 2 >= 2.0  # each panel at least 2 inches
    assert "showing the first 8 of 10 selected" in ex.summary()


def test_widget_redraws_one_output_area(setup, capsys):
    ipywidgets = pytest.importorskip("ipywidgets")
    ctx, _ = setup
    ex = E.Explorer(ctx, {k: str(v) for k, v in setup[1].items()}, "fixation", "test",
                    ctx.dataset("fixation", "test").videos[0].name, 2, ["skd_st/dva-16-mu0.5"])
    box, redraw = E._widget(ex)
    (_, w_frame), w_runs, w_summary, out = box.children[0].children, *box.children[1:]
    assert isinstance(out, ipywidgets.Output) and w_runs.rows >= len(ex.runs)
    redraw()
    assert "frame 2" in w_summary.value and "Ctrl-click" in w_summary.value
    first = ex.fig
    w_frame.value = 4
    assert ex.t == 4 and ex.fig is not first and "frame 4" in w_summary.value
    w_runs.value = ("skd_st/dva-16-mu0.5", "skd_st/dva-32-mu0.5")
    assert list(ex.table.index) == list(w_runs.value) and "2 of 3 runs shown" in w_summary.value
    capsys.readouterr()


def test_a_redraw_on_cached_data_prints_no_progress_bar(setup, capsys):
    ctx, _ = setup
    table = nbtools.run_table(ctx, ["skd_st"])
    ex = nbtools.explore(ctx, table, task="fixation")
    capsys.readouterr()
    ex.update(t=1)
    err = capsys.readouterr().err
    assert "low-res" not in err and "%" not in err
