"""``python -m salkd.bench {metrics,models,train,plan} [options]``: benchmarks that print measured figures, and the GPU plan."""
from __future__ import annotations

import sys

USAGE = "usage: python -m salkd.bench {metrics,models,train,plan} [options]   (--help after the name lists them)"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name == "metrics":
        from salkd.bench import metrics as mod
    elif name == "models":
        from salkd.bench import models as mod
    elif name == "train":
        from salkd.bench import train_step as mod
    elif name == "plan":
        from salkd.bench import plan as mod
    else:
        print(f"unknown benchmark {name!r}. {USAGE}", file=sys.stderr)
        return 2
    return int(mod.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
