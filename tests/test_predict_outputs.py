"""``salkd predict`` never mixes, overwrites or half-writes its outputs (issue 24).

* a second predict into the same ``--out`` leaves only the maps of its own video;
* ``--out`` equal to the input (or a folder, or not a video name) is refused before any work;
* an interrupted training run is refused (``--allow-unfinished`` lets it through);
* temporary files of a killed earlier predict are removed; an image write that fails is one error line.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from salkd import cli
from data_fixtures import FullDisk  # noqa: E402


def _tiny_run(root: Path, **extra) -> Path:
    """A run folder holding an untrained skd spatial student at 32x32 (``extra``: more checkpoint entries)."""
    from salkd.models import build

    model = build("skd_spatial")
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict(), **extra}, root / "checkpoint.pt")
    return root


def _frames(folder: Path, n: int) -> Path:
    import cv2

    folder.mkdir(parents=True)
    rng = np.random.default_rng(n)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:05d}.png"), rng.integers(0, 255, (40, 48, 3), dtype=np.uint8))
    return folder


def _one_error_line(capsys, argv: list[str]) -> str:
    """Run ``salkd argv``: exit 2, one ``salkd: error:`` line (after any progress bars), no traceback."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("salkd")]
    assert len(lines) == 1 and lines[0].startswith("salkd: error: ") and "Traceback" not in err, err
    assert err.strip().endswith(lines[0])
    return lines[0][len("salkd: error: "):]


def _predict(source: Path, run: Path, out: Path, *more: str) -> list[str]:
    return ["predict", str(source), "--run", str(run), "--out", str(out), "--device", "cpu", *more]


def test_second_predict_replaces_the_maps_of_the_first(tmp_path, capsys):
    run, out = _tiny_run(tmp_path / "run"), tmp_path / "o.mp4"
    assert cli.main(_predict(_frames(tmp_path / "long", 7), run, out)) == 0
    assert len(list((tmp_path / "o_maps").iterdir())) == 7
    assert cli.main(_predict(_frames(tmp_path / "short", 3), run, out)) == 0
    assert sorted(p.name for p in (tmp_path / "o_maps").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]          # no temporary leftovers


def test_predict_refuses_to_overwrite_its_input(tmp_path, capsys):
    import cv2

    run = _tiny_run(tmp_path / "run")
    video = tmp_path / "vid.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (48, 40))
    for _ in range(4):
        w.write(np.full((40, 48, 3), 128, np.uint8))
    w.release()
    before = video.read_bytes()
    msg = _one_error_line(capsys, _predict(video, run, video))
    assert "overwrite its own source" in msg and str(video) in msg
    os.symlink(video, tmp_path / "link.mp4")
    assert "overwrite" in _one_error_line(capsys, _predict(video, run, tmp_path / "link.mp4"))
    assert video.read_bytes() == before and not (tmp_path / "vid_maps").exists()


def test_predict_refuses_maps_folder_holding_the_input(tmp_path, capsys):
    run = _tiny_run(tmp_path / "run")
    frames = _frames(tmp_path / "o_maps", 3)
    msg = _one_error_line(capsys, _predict(frames, run, tmp_path / "o.mp4"))
    assert "holds the input" in msg
    assert len(list(frames.iterdir())) == 3


def test_predict_never_deletes_files_it_did_not_write(tmp_path, capsys):
    run, frames = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2)
    (tmp_path / "o_maps").mkdir()
    (tmp_path / "o_maps" / "notes.txt").write_text("mine")
    msg = _one_error_line(capsys, _predict(frames, run, tmp_path / "o.mp4"))
    assert "notes.txt" in msg and (tmp_path / "o_maps" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("name", ["x.txt", "folder"])
def test_predict_refuses_an_out_that_is_no_video_file(tmp_path, capsys, name):
    run, frames = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2)
    (tmp_path / "folder").mkdir()
    msg = _one_error_line(capsys, _predict(frames, run, tmp_path / name))
    assert f"--out {tmp_path / name}" in msg
    assert not (tmp_path / "x_maps").exists() and not (tmp_path / "folder_maps").exists()


def test_predict_and_export_refuse_an_interrupted_run(tmp_path, capsys):
    run = _tiny_run(tmp_path / "run", step=5, optimizer={})
    frames, out = _frames(tmp_path / "f", 2), tmp_path / "o.mp4"
    msg = _one_error_line(capsys, _predict(frames, run, out))
    assert "not finished" in msg and "step 5" in msg and "--allow-unfinished" in msg and not out.exists()
    msg = _one_error_line(capsys, ["export", str(run), "--out", str(tmp_path / "m.onnx"), "--res", "32"])
    assert "not finished" in msg and "step 5" in msg and not (tmp_path / "m.onnx").exists()
    assert cli.main(_predict(frames, run, out, "--allow-unfinished")) == 0 and out.is_file()


def test_predict_removes_temporary_files_of_a_killed_predict(tmp_path, capsys):
    run, frames, out = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2), tmp_path / "o.mp4"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    video_tmp = tmp_path / f".o.{dead}.0123abcd.tmp.mp4"
    maps_tmp = tmp_path / f".o_maps.{dead}.0123abcd.tmp"
    video_tmp.write_bytes(b"half a video")
    maps_tmp.mkdir()
    alive = tmp_path / f".o.{os.getpid()}.0123abcd.tmp.mp4"                    # a live writer's file stays
    alive.write_bytes(b"in progress")
    assert cli.main(_predict(frames, run, out)) == 0
    assert not video_tmp.exists() and not maps_tmp.exists() and alive.exists()


def test_failed_image_write_is_one_error_line_and_keeps_the_old_maps(tmp_path, capfd, monkeypatch):
    from salkd import atomic

    run, out = _tiny_run(tmp_path / "run"), tmp_path / "o.mp4"
    assert cli.main(_predict(_frames(tmp_path / "a", 3), run, out)) == 0
    old = {p.name: p.read_bytes() for p in (tmp_path / "o_maps").iterdir()}
    old_video = out.read_bytes()
    frames = _frames(tmp_path / "b", 5)
    capfd.readouterr()
    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)      # the maps' writes hit a full disk
    msg = _one_error_line(capfd, _predict(frames, run, out))            # capfd: no C-level libpng message either
    assert msg == (f"no space left on device while writing {tmp_path / 'o_maps' / '00000.png'}; "
                   f"free space and rerun to resume")
    assert {p.name: p.read_bytes() for p in (tmp_path / "o_maps").iterdir()} == old and out.read_bytes() == old_video
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_truncated_overlay_video_is_an_error_not_a_result(tmp_path, capfd, monkeypatch):
    """OpenCV's video writer reports nothing on a full disk: the video is read back and its frames counted."""
    import cv2

    run, out = _tiny_run(tmp_path / "run"), tmp_path / "o.mp4"
    real = cv2.VideoWriter

    class LosesFrames:                                                   # a full disk after the first frame
        def __init__(self, *a) -> None:
            self.w, self.n = real(*a), 0

        def isOpened(self) -> bool:
            return self.w.isOpened()

        def write(self, frame) -> None:
            self.n += 1
            if self.n == 1:
                self.w.write(frame)

        def release(self) -> None:
            self.w.release()

    monkeypatch.setattr(cv2, "VideoWriter", LosesFrames)
    msg = _one_error_line(capfd, _predict(_frames(tmp_path / "f", 4), run, out))
    assert msg.startswith(f"{out}: the video writer wrote 1 of 4 frames"), msg
    assert not out.exists() and not (tmp_path / "o_maps").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_unwritable_out_folder_is_one_error_line(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    run, frames = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        msg = _one_error_line(capsys, _predict(frames, run, ro / "o.mp4"))
    finally:
        ro.chmod(0o755)
    assert str(ro) in msg and "permission denied" in msg
    shutil.rmtree(ro)


def test_out_under_a_file_is_one_error_line(tmp_path, capsys):
    run, frames = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2)
    (tmp_path / "afile").write_text("x")
    msg = _one_error_line(capsys, _predict(frames, run, tmp_path / "afile" / "sub" / "o.mp4"))
    assert str(tmp_path / "afile") in msg and "not a folder" in msg
    assert (tmp_path / "afile").read_text() == "x"


def test_a_read_only_out_folder_names_the_folder_not_a_temporary_name(tmp_path, capsys, monkeypatch):
    from salkd import atomic
    from salkd.predict import predict_video

    def read_only(path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    run, frames = _tiny_run(tmp_path / "run"), _frames(tmp_path / "f", 2)
    monkeypatch.setattr(atomic, "_new_dir", read_only)
    monkeypatch.setattr(atomic, "_new_file", read_only)
    with pytest.raises(OSError) as info:
        predict_video(frames, run, tmp_path / "o.mp4", device="cpu", progress=False, allow_unfinished=True)
    assert info.value.errno == errno.EROFS and info.value.filename == str(tmp_path)
    monkeypatch.setattr(os, "access", lambda *a, **k: False)             # what root sees on a read-only mount
    msg = _one_error_line(capsys, _predict(frames, run, tmp_path / "o.mp4", "--allow-unfinished"))
    assert msg == f"--out {tmp_path / 'o.mp4'}: {tmp_path} is not writable (read-only mount or permissions); choose another --out"
