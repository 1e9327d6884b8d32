"""The distillation test: does a tiny student keep its teacher's accuracy on video it never saw?

The papers' central promise (skd, uvanet, fastvsod) is that a tiny student distilled from a strong teacher
keeps most of the teacher's accuracy. Scored on later frames of the one video it trained on, a student can
win by memorising that video's gaze (a constant mean map does). Here the students learn from the teacher's
maps of *other* video (a teacher-labelled corpus, skd eq. 1-3 with mu = 1) and are scored on every frame
of a gaze-labelled video none of them saw, beside the teacher, the centred Gaussian, the mean map of what
they trained on and the human ceiling; label-scarcity rows add k gaze-labelled frames; fidelity rows
compare student and teacher maps on held-out video.

* :mod:`salkd.distill.data`: the corpus, test, label-scarcity and fidelity sets (profile key ``distill``);
* :mod:`salkd.distill.maps`: teacher maps (cached per video), centred Gaussian, mean maps, human ceiling;
* :mod:`salkd.distill.rows`: the trained rows (arms ``corpus``, ``labels``, ``labels+corpus``);
* :mod:`salkd.distill.scores`, :mod:`salkd.distill.report`, :mod:`salkd.distill.summary`: scores, tables,
  figures, verdicts (:mod:`salkd.noise`) and ``DISTILLATION.md``.

``salkd.distill.run(ctx)`` does all of it (notebook ``07_distillation_test``).
"""
from __future__ import annotations

from salkd.distill.report import run

__all__ = ["run"]
