"""What the command-line tests share: the one-line error check and the London report command."""

from __future__ import annotations

from pathlib import Path


def one_line(err: str) -> str:
    """Return the single line printed on stderr (fail on a traceback or more than one line)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("sendlib: "), err
    return lines[0]


def london(out: Path, *extra: str) -> list[str]:
    """Return the arguments of `sendlib reports` for the London report into `out`, one worker."""
    return ["reports", "--region", "London", "--jobs", "1", "--out", str(out), *extra]
