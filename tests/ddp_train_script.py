"""Run by tests/test_train.py under torchrun (2 processes) and as a single process."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toy import ToyDataset, toy_loss, toy_model  # noqa: E402

from salkd.train import TrainSettings, fit  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    s = TrainSettings(epochs=2, batch_size=16, lr=1e-2, seed=3, progress=False, device="cpu")
    fit(toy_model(), toy_loss, ToyDataset(48), out, s, config={"stage": "ddp-test"})
