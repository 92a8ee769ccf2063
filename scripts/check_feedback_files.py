"""Pre-commit hook: refuse survey data. Nothing under data/feedback/ may be committed (responses, contacts,
summaries, rejected rows, the pseudonym key), even when added with `git add -f`; nor, anywhere else, a CSV or
XLSX file laid out like a survey export (three or more of the survey's question texts as headers) that holds
answers. Usage: check_feedback_files.py FILE... (exit 1 and one line per refused file)."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath

FEEDBACK = ("data", "feedback")
EXPORT_SUFFIXES = {".csv", ".xlsx", ".xlsm"}
MATCHING_HEADERS = 3


def under_feedback(path: str) -> bool:
    """Return True if a repository path is inside data/feedback/."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    return any(parts[i:i + 2] == FEEDBACK for i in range(len(parts) - 1))


def looks_like_export(path: Path) -> bool:
    """Return True if a CSV/XLSX file has survey question texts as headers and at least one row of answers."""
    if path.suffix.lower() not in EXPORT_SUFFIXES or not path.is_file():
        return False
    try:
        from sendlib.feedback.definition import load_definition, normalise_header
        from sendlib.feedback.sheets import read_sheet

        texts = {normalise_header(h) for q in load_definition().questions for h in q.headers}
        sheet = read_sheet(path)
    except Exception:  # an unreadable or unrelated file is not this hook's business
        return False
    matching = sum(normalise_header(h) in texts for h in sheet.header)
    return matching >= MATCHING_HEADERS and bool(sheet.rows)


def problems(paths: list[str]) -> list[str]:
    """Return one message per refused file."""
    found = []
    for path in paths:
        if under_feedback(path):
            found.append(f"{path}: under data/feedback/, which holds survey responses and contacts (personal data); "
                         "unstage it with `git rm --cached`")
        elif looks_like_export(Path(path)):
            found.append(f"{path}: looks like a survey export with answers (personal data); move it into "
                         "data/feedback/ (git-ignored) and unstage it")
    return found


def main(argv: list[str]) -> int:
    """Print the refused files; return 1 if there are any."""
    found = problems(argv)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
