"""The pretrained teachers (CSNet-L, TinyHD) against the reference tensors made by the authors' code.

Golden files: ../shared/golden (README there); weights: ../shared/weights. Tests that need them are
marked ``realdata`` and skip with a reason when they are absent. Tolerance 1e-4 (max abs) on
outputs, as agreed in issue 16; preprocessing must be bit-exact.
"""
from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from salkd import paths
from salkd.models import pretrained
from salkd.models.pretrained import StateDictMismatch, WeightsFileError, WeightsNotFound, clip_schedule

SHARED = paths.shared_data().parent
GOLDEN = SHARED / "golden"
WEIGHTS = SHARED / "weights"
DHF1K = SHARED / "data" / "dhf1k_sample" / "0002" / "images"
TOL = 1e-4


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared reference data not found at {path}")
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # the references were made with 1 thread
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def csnet_x2():
    return pretrained.load("csnet_x2", _need(WEIGHTS / "csnet" / "csnet-L-x2.pth.tar"))


@pytest.fixture(scope="module")
def tinyhd_s():
    return pretrained.load("tinyhd_s", _need(WEIGHTS / "tinyhd" / "d123s_rc4_rc1T.pth"))


def _maxabs(a, b) -> float:
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    assert a.shape == np.shape(b), (a.shape, np.shape(b))
    return float(np.abs(a.astype(np.float64) - np.asarray(b, dtype=np.float64)).max())


def _dhf1k_frames(first: int, last: int) -> list[np.ndarray]:
    """Frames first..last (1-based, inclusive), decoded as the reference did: cv2, BGR -> RGB."""
    import cv2

    out = []
    for i in range(first, last + 1):
        img = cv2.imread(str(_need(DHF1K / f"{i:04d}.jpg")))
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    return out


# ------------------------------------------------------------------------------------------ CSNet
@pytest.mark.realdata
def test_csnet_preprocess_bit_exact(csnet_x2):
    from PIL import Image

    img = np.asarray(Image.open(_need(SHARED / "data/davis2016/val/blackswan/Imgs/00000.jpg")).convert("RGB"))
    x = csnet_x2.preprocess(img)
    ref = np.load(_need(GOLDEN / "csnet/val_blackswan_00000_input.npy"))
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 3, 224, 224)
    assert np.array_equal(x.numpy(), ref)
    both = csnet_x2.preprocess([img, img[:, ::-1].copy()])
    assert tuple(both.shape) == (2, 3, 224, 224) and np.array_equal(both[:1].numpy(), ref)


@pytest.mark.realdata
def test_csnet_x2_matches_reference(csnet_x2):
    g = _need(GOLDEN / "csnet")
    x = torch.from_numpy(np.load(g / "val_blackswan_00000_input.npy"))
    with torch.no_grad():
        logits = csnet_x2(x)
    assert _maxabs(logits, np.load(g / "val_blackswan_00000_logits.npy")) < TOL
    assert _maxabs(torch.sigmoid(logits), np.load(g / "val_blackswan_00000_sigmoid.npy")) < TOL
    png = csnet_x2.postprocess(logits, (240, 427))[0]
    ref = np.load(g / "val_blackswan_00000_png_uint8.npy")
    assert png.dtype == np.uint8 and png.shape == ref.shape
    diff = np.abs(png.astype(int) - ref)  # measured: 0 everywhere; truncation may flip a boundary pixel
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


@pytest.mark.realdata
def test_csnet_parameter_counts_and_features(csnet_x2):
    assert sum(p.numel() for p in csnet_x2.parameters()) == 140_894
    assert sum(t.numel() for t in csnet_x2.state_dict().values()) == 146_418  # MANIFEST: with BN buffers
    x1 = pretrained.load("csnet_x1", _need(WEIGHTS / "csnet" / "csnet-L-x1.pth.tar"))
    assert sum(p.numel() for p in x1.parameters()) == 93_647
    assert not csnet_x2.training and csnet_x2.input_size == (224, 224) and csnet_x2.clip_len == 1
    assert "ECCV 2020" in csnet_x2.describe()
    with torch.no_grad():
        feats = csnet_x2.features(torch.zeros(1, 3, 224, 224))
    assert [tuple(f.shape[1:]) for f in feats] == [(13, 224, 224), (18, 224, 224), (51, 112, 112),
                                                    (38, 56, 56), (64, 28, 28)]
    assert csnet_x2.feature_channels == [13, 18, 51, 38, 64]


@pytest.mark.realdata
def test_csnet_x1_checkpoint_with_x2_config_is_refused(tmp_path):
    import shutil

    shutil.copy(_need(WEIGHTS / "csnet/csnet-L-x1.pth.tar"), tmp_path / "csnet-L-x2.pth.tar")
    shutil.copy(WEIGHTS / "csnet/csnet-L-x2.bin", tmp_path / "csnet-L-x2.bin")
    with pytest.raises(StateDictMismatch, match=r"shape mismatches.*stage0\.0\.conv1x1\.conv\.weight"):
        pretrained.load("csnet_x2", tmp_path / "csnet-L-x2.pth.tar")


@pytest.mark.realdata
def test_csnet_needs_its_bin(tmp_path):
    import shutil

    shutil.copy(_need(WEIGHTS / "csnet/csnet-L-x2.pth.tar"), tmp_path / "csnet-L-x2.pth.tar")
    with pytest.raises(WeightsNotFound, match=r"csnet-L-x2\.bin.*salkd weights get csnet_x2"):
        pretrained.load("csnet_x2", tmp_path / "csnet-L-x2.pth.tar")


# ----------------------------------------------------------------------------------------- TinyHD
@pytest.mark.realdata
def test_tinyhd_preprocess_bit_exact(tinyhd_s):
    x = tinyhd_s.preprocess(_dhf1k_frames(1, 16))
    ref = np.load(_need(GOLDEN / "tinyhd_s/clip_frames0001-0016_input.npy"))
    assert x.dtype == torch.float32 and tuple(x.shape) == (1, 3, 16, 192, 256)
    assert np.array_equal(x.numpy(), ref)


@pytest.mark.realdata
@pytest.mark.parametrize("tag,first,last", [("clip_frames0001-0016", 1, 16), ("clip_frames0386-0401", 386, 401),
                                            ("padded_frame0001", None, None)])
def test_tinyhd_s_matches_reference(tinyhd_s, tag, first, last):
    g = _need(GOLDEN / "tinyhd_s")
    frames = _dhf1k_frames(first, last) if first else _dhf1k_frames(1, 1) * 16
    with torch.no_grad():
        out = tinyhd_s(tinyhd_s.preprocess(frames))
    ref = np.load(g / f"{tag}_output.npy")
    assert _maxabs(out, ref) < TOL
    post = g / f"{tag}_postprocessed_uint8.npy"
    if post.exists():
        diff = np.abs(tinyhd_s.postprocess(out[0, 0], (360, 640)).astype(int) - np.load(post))
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # measured: 0 everywhere


@pytest.mark.realdata
def test_tinyhd_s_on_the_reference_input(tinyhd_s):
    g = _need(GOLDEN / "tinyhd_s")
    with torch.no_grad():
        out = tinyhd_s(torch.from_numpy(np.load(g / "clip_frames0001-0016_input.npy")))
    assert _maxabs(out, np.load(g / "clip_frames0001-0016_output.npy")) < TOL


@pytest.mark.realdata
def test_tinyhd_predict_video_first_frames_use_padded_clips(tinyhd_s):
    maps = tinyhd_s.predict_video(_dhf1k_frames(1, 2))
    assert len(maps) == 2 and maps[0].shape == (192, 256)
    ref = np.load(_need(GOLDEN / "tinyhd_s/padded_frame0001_output.npy"))[0, 0]
    assert _maxabs(maps[0], ref) < TOL


@pytest.mark.realdata
def test_tinyhd_m_gives_a_map_per_frame_close_to_s(tinyhd_s):
    """No golden file for M: its map of the last frame must agree with the verified S model."""
    m = pretrained.load("tinyhd_m", _need(WEIGHTS / "tinyhd" / "d123m_rc4_rc1T.pth"))
    g = _need(GOLDEN / "tinyhd_s")
    with torch.no_grad():
        out = m(torch.from_numpy(np.load(g / "clip_frames0001-0016_input.npy")))
    assert tuple(out.shape) == (1, 1, 16, 192, 256) and 0 < float(out.min()) and float(out.max()) < 1
    s = np.load(g / "clip_frames0001-0016_output.npy")[0, 0].ravel()
    assert np.corrcoef(out[0, 0, -1].numpy().ravel(), s)[0, 1] > 0.95


def test_tinyhd_parameter_counts():
    s, m = pretrained.build("tinyhd_s"), pretrained.build("tinyhd_m")
    assert sum(p.numel() for p in s.parameters()) == 513_121
    assert sum(t.numel() for t in s.state_dict().values()) == 532_014  # MANIFEST: with BN buffers
    assert sum(p.numel() for p in m.parameters()) == 515_281
    assert len(s.state_dict()) == len(m.state_dict()) == 980
    assert s.clip_len == 16 and s.input_size == (192, 256) and "WACV 2023" in s.describe()


def test_clip_schedule_single_and_multi():
    single = clip_schedule(20, 16, multi=False)
    assert len(single) == 20
    assert single[0] == ([0] * 16, [(0, 0)])
    assert single[5] == ([0] * 10 + list(range(6)), [(0, 5)])
    assert single[15] == (list(range(16)), [(0, 15)])
    assert single[19] == (list(range(4, 20)), [(0, 19)])
    multi = clip_schedule(783, 16, multi=True)
    assert [c[0][0] for c in multi][:3] == [0, 16, 32] and multi[-2][0][0] == 752 and multi[-1][0][0] == 767
    labelled = {}
    for idx, targets in multi:
        assert len(idx) == 16
        labelled.update({f: idx[p] for p, f in targets})
    assert sorted(labelled) == list(range(783)) and all(labelled[f] == f for f in labelled)
    short = clip_schedule(5, 16, multi=True)
    assert short == [([0] * 11 + list(range(5)), [(11 + i, i) for i in range(5)])]


@pytest.mark.parametrize("name", ["tinyhd_s", "tinyhd_m"])
def test_predict_video_follows_the_schedule(name, monkeypatch):
    """With a fake forward that encodes each clip's frame ids, every frame gets its own map."""
    model = pretrained.build(name).eval()
    frames = [np.full((24, 32, 3), i, np.uint8) for i in range(20)]
    monkeypatch.setattr(model, "preprocess", lambda fr: torch.tensor([[float(f[0, 0, 0]) for f in fr]]))

    def fake(x):  # x: [B,16] frame ids -> S: last id, M: every id
        if model.multi_output:
            return x[:, None, :, None, None].expand(-1, 1, 16, 2, 2)
        return x[:, None, -1:, None].expand(-1, 1, 2, 2)

    monkeypatch.setattr(model, "forward", fake)
    maps = model.predict_video(frames, batch_size=3)
    assert [float(m.flat[0]) for m in maps] == list(range(20))


# ----------------------------------------------------------------------------------------- errors
def test_unknown_name():
    with pytest.raises(KeyError, match="csnet_x2"):
        pretrained.load("csnet_x3")


def test_missing_weights_say_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("SALKD_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("SALKD_SHARED", str(tmp_path / "shared" / "data"))
    with pytest.raises(WeightsNotFound) as err:
        pretrained.load("tinyhd_s")
    msg = str(err.value)
    assert str(tmp_path / "w" / "tinyhd" / "d123s_rc4_rc1T.pth") in msg and "salkd weights get tinyhd_s" in msg
    with pytest.raises(WeightsNotFound, match="does not exist"):
        pretrained.load("tinyhd_m", tmp_path / "nope.pth")


def test_env_weights_folder_is_used(tmp_path, monkeypatch):
    sd = pretrained.build("tinyhd_s").state_dict()
    (tmp_path / "tinyhd").mkdir()
    torch.save({"student_model": sd}, tmp_path / "tinyhd" / "d123s_rc4_rc1T.pth")
    monkeypatch.setenv("SALKD_WEIGHTS", str(tmp_path))
    model = pretrained.load("tinyhd_s")
    assert not model.training
    assert torch.equal(model.state_dict()["decoder.decoder.0.weight"], sd["decoder.decoder.0.weight"])


@pytest.mark.parametrize("content", [b"", b"<html>404 Not Found</html>", b"PK\x03\x04garbage" * 10])
def test_wrong_file_is_a_clear_error(tmp_path, content):
    p = tmp_path / "d123s_rc4_rc1T.pth"
    p.write_bytes(content)
    with pytest.raises(WeightsFileError, match=re.escape(str(p))):
        pretrained.load("tinyhd_s", p)


def test_checkpoint_of_another_kind(tmp_path):
    p = tmp_path / "other.pth"
    torch.save({"model": {"w": torch.zeros(1)}}, p)
    with pytest.raises(WeightsFileError, match="student_model"):
        pretrained.load("tinyhd_s", p)


def test_shape_mismatch_names_the_key(tmp_path):
    sd = pretrained.build("tinyhd_s").state_dict()
    sd["decoder.decoder.0.weight"] = torch.zeros(1, 5, 1, 1)
    p = tmp_path / "bad.pth"
    torch.save({"student_model": sd}, p)
    with pytest.raises(StateDictMismatch, match=r"decoder\.decoder\.0\.weight: file \(1, 5, 1, 1\)"):
        pretrained.load("tinyhd_s", p)


def test_missing_and_unexpected_keys_are_reported(tmp_path):
    from salkd.models.pretrained.loading import load_state

    model = pretrained.build("tinyhd_s")
    sd = dict(model.state_dict())
    del sd["aggregator.aggregate_adapter.36.conv.3.bias"]
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(StateDictMismatch, match=r"missing keys \(1\).*adapter\.36\.conv\.3\.bias"):
        load_state(model, sd, "x.pth")
    with pytest.warns(UserWarning, match=r"unexpected keys \(1\): extra\.weight"):
        load_state(model, sd, "x.pth", strict=False)
    p = tmp_path / "m.pth"
    torch.save({"student_model": sd}, p)
    with pytest.raises(StateDictMismatch, match="unexpected keys"):
        pretrained.load("tinyhd_s", p)


def test_channel_config_unpickler_refuses_other_globals(tmp_path):
    from salkd.models.pretrained.loading import read_channel_config

    class Evil:
        def __reduce__(self):
            return (print, ("this must not run",))

    p = tmp_path / "csnet-L-x2.bin"
    p.write_bytes(pickle.dumps([Evil()] * 22))
    with pytest.raises(WeightsFileError, match=r"refusing to load global builtins\.print"):
        read_channel_config(p)
    p.write_bytes(b"not a pickle")
    with pytest.raises(WeightsFileError, match="csnet-L-x2.bin"):
        read_channel_config(p)
    cfg = [[np.array([1.0, 2.0]), np.array([3.0])]] * 22
    p.write_bytes(pickle.dumps(cfg, protocol=3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = read_channel_config(p)
    assert np.array_equal(got[0][0], [1.0, 2.0])
