"""Bad labels are one clear error naming the file, not a quiet NaN or a late crash (issue 24, item 7).

* validation videos without fixation or density maps (nothing could pick ``best.pt``); with density maps
  only, CC picks it (NSS would be nan);
* density maps that are all zero for a whole video;
* a density map of another size than its fixation map (scored by ``salkd evaluate``).
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from salkd import cli
from salkd.data import DatasetError, cache_lowres, open_dataset
from salkd.data.synthetic import make_dataset


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "fix", kind="fixation", n_videos=7, n_frames=4, size=(48, 64), seed=3,
                        progress=False)


def _tiny_run(root: Path) -> Path:
    from salkd.models import build

    model = build("skd_spatial")
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"res": 32, "model": model.salkd_spec}))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pt")
    return root


def _video(data: Path) -> Path:
    return sorted(p for p in data.iterdir() if p.is_dir())[0]


def test_validation_videos_without_labels_are_refused_before_training(data: Path, tmp_path: Path) -> None:
    import warnings

    from salkd.context import Context, val_fn
    from salkd.models import build

    for f in data.glob("*/fixation/*.png"):
        f.unlink()
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False, data={"fixation": str(data)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = val_fn(ctx, "fixation", 32)(build("skd_spatial").eval())   # density maps only: CC picks best.pt
    assert np.isfinite(scores["metric"]) and scores["metric"] == scores["cc"]
    for f in data.glob("*/maps/*.png"):
        f.unlink()
    ctx = Context(profile="smoke", runs=tmp_path / "runs", progress=False, data={"fixation": str(data)})
    with pytest.warns(UserWarning, match="is empty"), \
            pytest.raises(DatasetError, match="have no fixation or density maps .* no validation score can pick"):
        val_fn(ctx, "fixation", 32)


def test_all_zero_density_maps_are_an_error_naming_a_file(data: Path, tmp_path: Path) -> None:
    maps = sorted((_video(data) / "maps").iterdir())
    for f in maps:
        cv2.imwrite(str(f), np.zeros(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE).shape, np.uint8))
    with pytest.raises(DatasetError, match=f"every density map of video .* is all zero \\(e.g. {maps[0]}\\)"):
        cache_lowres(open_dataset(data), (32, 32), tmp_path / "cache", progress=False)


def test_a_density_map_of_another_size_is_named_by_evaluate(data: Path, tmp_path: Path, capsys) -> None:
    bad = sorted((_video(data) / "maps").iterdir())[0]
    img = cv2.imread(str(bad), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(bad), cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA))
    code = cli.main(["evaluate", str(_tiny_run(tmp_path / "run")), "--data", str(data), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("salkd: error: density map ") and str(bad) in line and "32x24" in line, line
