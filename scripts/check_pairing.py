"""Check that every notebook in notebooks/ is paired with a jupytext percent script and that the two agree.

    python scripts/check_pairing.py [FOLDER]

For each notebooks/*.ipynb: its jupytext metadata must pair it with `py:percent`, the .py must exist, and
both must hold the same cells (type, source and tags, outputs ignored). A percent script with no .ipynb is
also reported. Exit 0 if all agree, 1 with one line per problem otherwise. Fix a mismatch with
`jupytext --sync notebooks/NAME.ipynb`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

REPO = Path(__file__).resolve().parent.parent


def cells(notebook: object) -> list[tuple[str, str, tuple[str, ...]]]:
    """Return (type, source, tags) for each cell, the comparable part of a notebook."""
    return [(cell.cell_type, cell.source.strip(), tuple(sorted(cell.metadata.get("tags", []))))
            for cell in notebook.cells]  # type: ignore[attr-defined]


def is_percent_script(path: Path) -> bool:
    """Return True if a .py file is a jupytext percent notebook."""
    head = path.read_text(encoding="utf-8")[:2000]
    return "jupytext:" in head or "# %%" in head


def check_pair(ipynb: Path) -> list[str]:
    """Return the problems with one notebook and its paired script."""
    script = ipynb.with_suffix(".py")
    notebook = jupytext.read(ipynb)
    formats = str(notebook.metadata.get("jupytext", {}).get("formats", ""))
    problems = []
    if "py:percent" not in formats:
        problems.append(f"{ipynb.name}: not paired with py:percent (jupytext formats {formats!r}); "
                        f"run `jupytext --set-formats ipynb,py:percent {ipynb}`")
    if not script.is_file():
        return problems + [f"{ipynb.name}: its paired script {script.name} is missing"]
    text = jupytext.read(script)
    mine, theirs = cells(notebook), cells(text)
    if len(mine) != len(theirs):
        problems.append(f"{ipynb.name}: {len(mine)} cells but {script.name} has {len(theirs)}")
    for number, (left, right) in enumerate(zip(mine, theirs, strict=False), start=1):
        if left != right:
            what = "type" if left[0] != right[0] else "tags" if left[2] != right[2] else "source"
            problems.append(f"{ipynb.name}: cell {number} {what} differs from {script.name}; "
                            f"run `jupytext --sync {ipynb}`")
            break
    return problems


def check_folder(folder: Path) -> list[str]:
    """Return the problems of every notebook and percent script in a folder."""
    problems = []
    for ipynb in sorted(folder.glob("*.ipynb")):
        problems += check_pair(ipynb)
    for script in sorted(folder.glob("*.py")):
        if is_percent_script(script) and not script.with_suffix(".ipynb").is_file():
            problems.append(f"{script.name}: a percent script without its notebook "
                            f"(run `jupytext --to ipynb {script}`)")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the folder (default notebooks/); print problems; return 0 or 1."""
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else REPO / "notebooks"
    problems = check_folder(folder)
    for problem in problems:
        print(problem, file=sys.stderr)
    count = len(list(folder.glob("*.ipynb")))
    if not problems:
        print(f"{count} notebooks paired with their percent scripts and in sync")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
