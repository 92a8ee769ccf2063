"""Refuse files over the size limit, and byte-for-byte copies of the official files in ../shared/reference
(the project commits the tables its code builds, never the inputs)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

LIMIT_BYTES = 3_000_000
REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


def sha256(path: Path) -> str:
    """Return the hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def reference_checksums() -> set[str]:
    """Return the checksums of the reference files (empty when the folder is absent)."""
    if not REFERENCE.is_dir():
        return set()
    return {sha256(p) for p in REFERENCE.rglob("*") if p.is_file() and p.suffix != ".md"}


def problems(paths: list[Path]) -> list[str]:
    """Return one message per file that is too large or copies a reference file."""
    copies = reference_checksums()
    found = []
    for path in paths:
        if not path.is_file():
            continue
        if path.stat().st_size > LIMIT_BYTES:
            found.append(f"{path}: {path.stat().st_size:,} bytes, over the {LIMIT_BYTES:,}-byte limit")
        elif copies and sha256(path) in copies:
            found.append(f"{path}: a copy of a file in {REFERENCE}; commit the tables the code builds instead")
    return found


def main(argv: list[str]) -> int:
    """Check the files named on the command line; return 1 if any fails."""
    found = problems([Path(a) for a in argv])
    for message in found:
        print(message, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
