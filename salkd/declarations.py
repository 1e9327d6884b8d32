"""What generic code asks of a paper, answered by the paper itself: each module under :mod:`salkd.papers`
declares its task, its stages and the registry names of its models (:func:`declare`, on import), and the
planner, the dry run, ``nbtools`` and ``evaluate``'s task guess read the declarations instead of naming papers.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Paper", "declare", "declared", "paper_of_stage", "task_of_stage", "task_of_model", "task_of_key"]


@dataclass(frozen=True)
class Paper:
    """``key``: the paper's key (also the prefix of its numbers' keys, e.g. ``fastvsod_table3``); ``task``:
    ``"fixation"`` or ``"vsod"``; ``stages``: the run-folder stages it trains; ``models``: prefixes of the
    registry names of its networks (``salkd.models.build``; ``pretrained:<arch>`` for published ones)."""

    key: str
    task: str
    stages: tuple[str, ...] = ()
    models: tuple[str, ...] = ()


_DECLARED: dict[str, Paper] = {}


def declare(paper: Paper) -> Paper:
    """Register ``paper`` (a paper module calls this at import); returns it."""
    if paper.task not in ("fixation", "vsod"):
        raise ValueError(f"paper {paper.key!r}: task must be 'fixation' or 'vsod', got {paper.task!r}")
    _DECLARED[paper.key] = paper
    return paper


def declared() -> dict[str, Paper]:
    """Every declared paper (importing :mod:`salkd.papers` first, whose modules declare themselves)."""
    import salkd.papers  # noqa: F401  (imported here: salkd.papers imports the generic modules that ask)

    return dict(_DECLARED)


def paper_of_stage(stage: str) -> Paper | None:
    """The paper that declares the run-folder stage ``stage``, or None."""
    return next((p for p in declared().values() if stage in p.stages), None)


def task_of_stage(stage: str) -> str | None:
    """The task of a run-folder stage, or None for a stage no paper declares."""
    paper = paper_of_stage(stage)
    return None if paper is None else paper.task


def task_of_model(name: str) -> str | None:
    """The task of a model by its registry name, or None for a name no paper declares."""
    return next((p.task for p in declared().values() if name.startswith(p.models)), None)


def task_of_key(key: str) -> str | None:
    """The task of the paper whose key prefixes ``key`` (e.g. ``"fastvsod_table1"``), or None."""
    return next((p.task for p in declared().values() if key.startswith(p.key)), None)
