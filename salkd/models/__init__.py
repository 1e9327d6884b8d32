"""salkd models: the students, spatiotemporal nets and teachers of the three papers.

Contract (every model): NCHW float RGB in [0, 1] (ImageNet normalization inside), ``input_kind`` in
{"frame", "pair", "flow"}, output = saliency logits (N, 1, H, W) at input resolution (``uva_student``:
a tuple (spatial, temporal)). Build with ``build(name, **kw)``; see ``names()``.
"""
from __future__ import annotations

from .checkpoints import from_run, load_for_inference, load_state_checked, load_teacher, read_state_dict
from .registry import DEPLOYABLE, build, deployable_names, names, register
from .skd import from_students
from .uvanet import from_student

__all__ = [
    "build",
    "names",
    "deployable_names",
    "register",
    "DEPLOYABLE",
    "from_students",
    "from_student",
    "from_run",
    "load_for_inference",
    "load_teacher",
    "load_state_checked",
    "read_state_dict",
]
