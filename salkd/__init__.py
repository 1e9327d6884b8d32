"""salkd: spatiotemporal knowledge distillation for video saliency, as reproducible notebooks.

Papers reproduced (see README.md for full citations):
  * skd      - Li, Fu, Zhao, Ge, IEEE TIP 2019 (aerial video fixation prediction)
  * uvanet   - Fu, Shi, Song, Ge, Lu, Li, AAAI 2020 (coupled knowledge distillation)
  * fastvsod - Tang & Li (fast video salient object detection via spatiotemporal KD)
"""
__version__ = "0.1.0"

# Before torch starts OpenMP: idle OpenMP threads sleep instead of spinning, so a second process on
# the machine does not collapse (see salkd.threads). Imports no heavy module.
from salkd.threads import set_wait_policy as _set_wait_policy  # noqa: E402

_set_wait_policy()
