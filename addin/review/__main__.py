"""`python -m addin.review --names [--spec-dir DIR]`: print the review pack's defined names as CSV, the content
of docs/review_names.csv (`addin.review.names`)."""
from __future__ import annotations

import sys

from workbook_templates import load_spec

from .names import review_names_csv

USAGE = "用法：python -m addin.review --names [--spec-dir 规格目录] > docs/review_names.csv"


def main(argv: list[str]) -> int:
    if argv[:1] != ["--names"] or len(argv) not in (1, 3) or (len(argv) == 3 and argv[1] != "--spec-dir"):
        print(USAGE, file=sys.stderr)
        return 2
    sys.stdout.write(review_names_csv(load_spec(argv[2] if len(argv) == 3 else None)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
