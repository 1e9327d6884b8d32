"""Tests of ``salkd.export.export_onnx``: round trip through ONNX Runtime, errors, atomic output."""
from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from salkd.export import ExportError, export_onnx
from data_fixtures import FullDisk  # noqa: E402


class TinyFrame(nn.Module):
    input_kind = "frame"

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.ConvTranspose2d(4, 1, 4, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TinyPair(TinyFrame):
    input_kind = "pair"

    def __init__(self) -> None:
        super().__init__()
        self.net[0] = nn.Conv2d(6, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], 1))


def _run_onnx(path, feeds):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, dict(zip([i.name for i in sess.get_inputs()], feeds)))[0]


def test_frame_model_round_trip(tmp_path) -> None:
    torch.manual_seed(0)
    m = TinyFrame().eval()
    rep = export_onnx(m, tmp_path / "m.onnx", res=16)
    assert rep["input_names"] == ["x"] and rep["max_abs_diff"] <= 1e-4
    assert rep["exporter"] == "torchscript" and rep["path"] == str(tmp_path / "m.onnx")
    x = torch.rand(3, 3, 16, 16)  # batch 3: the batch axis is dynamic
    with torch.inference_mode():
        ref = m(x).numpy()
    np.testing.assert_allclose(_run_onnx(tmp_path / "m.onnx", [x.numpy()]), ref, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary files left


def test_pair_model_gets_two_inputs(tmp_path) -> None:
    rep = export_onnx(TinyPair(), tmp_path / "p.onnx", res=8)
    assert rep["input_names"] == ["x_t", "x_next"]


def test_tolerance_violation_reports_difference(tmp_path) -> None:
    with pytest.raises(ExportError, match="max abs diff"):
        export_onnx(TinyFrame(), tmp_path / "m.onnx", res=16, atol=-1.0)
    assert not (tmp_path / "m.onnx").exists()


def test_existing_file_untouched_on_failure(tmp_path) -> None:
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    with pytest.raises(ExportError):
        export_onnx(TinyFrame(), target, res=16, atol=-1.0)
    assert target.read_bytes() == b"old"


def test_bad_arguments(tmp_path) -> None:
    with pytest.raises(TypeError):
        export_onnx("skd_st", tmp_path / "m.onnx")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        export_onnx(TinyFrame(), tmp_path / "m.onnx", exporter="magic")


def test_skd_st_round_trip(tmp_path) -> None:
    models = pytest.importorskip("salkd.models")
    m = models.build("skd_st")
    rep = export_onnx(m, tmp_path / "skd_st.onnx", res=32)
    assert rep["input_names"] == ["x_t", "x_next"] and rep["max_abs_diff"] < 1e-4
    with pytest.raises(ValueError, match="multiple"):
        export_onnx(m, tmp_path / "bad.onnx", res=30)  # skd nets need H, W % 4 == 0


def test_uva_st_round_trip(tmp_path) -> None:
    models = pytest.importorskip("salkd.models")
    rep = export_onnx(models.build("uva_st"), tmp_path / "uva.onnx", res=32)
    assert rep["max_abs_diff"] < 1e-4


def test_a_failed_write_is_an_os_error_naming_the_file(tmp_path, monkeypatch) -> None:
    from salkd import atomic

    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)
    with pytest.raises(OSError) as info:
        export_onnx(TinyFrame(), target, res=16)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_export_write_failures_are_one_error_line(tmp_path, monkeypatch, capfd) -> None:
    """A full disk, or a folder that appears at ``--out`` after the checks: one ``salkd: error:`` line naming it."""
    from salkd import atomic, cli

    def one_line(argv: list[str]) -> str:
        capfd.readouterr()
        assert cli.main(argv) == 2
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and err.startswith("salkd: error: ") and "Traceback" not in err, err
        return err.strip()[len("salkd: error: "):]

    out = tmp_path / "m.onnx"
    with monkeypatch.context() as m:
        m.setattr(atomic, "open", FullDisk, raising=False)
        assert one_line(["export", "skd_spatial", "--out", str(out), "--res", "32"]) == (
            f"no space left on device while writing {out}; free space and rerun to resume")
    real = atomic.write_bytes

    def folder_appears(path, data, shown=None):
        Path(path).mkdir()
        return real(path, data, shown)

    monkeypatch.setattr("salkd.export.write_bytes", folder_appears)
    msg = one_line(["export", "skd_spatial", "--out", str(out), "--res", "32"])
    assert msg.startswith(f"{out}: is a directory"), msg
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
