"""HexJSON (https://open-innovations.org/projects/hexmaps/hexjson): a hex map as JSON.

A file is an object with `layout` (how rows are offset: "odd-r", "even-r", "odd-q", "even-q") and `hexes`, an
object keyed by area code whose values hold the column `q`, the row `r` and usually the name `n`. Rows count
upwards (r = 0 is the bottom row). Open Innovations' map of upper-tier local authorities is "odd-r": odd rows
sit half a hex to the right.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sendlib.errors import InputFileError

LAYOUTS = ("odd-r", "even-r", "odd-q", "even-q")


def read_hexjson(path: Path, layout: str | None = None) -> pd.DataFrame:
    """Return one row per hex (code, name, q, r; q and r whole numbers) from a HexJSON file.

    With `layout`, the file's layout must be that one. Raises InputFileError naming the file and the hex at
    fault for invalid JSON, a missing `layout` or `hexes`, or a hex without whole-number `q` and `r`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", "a HexJSON file")
    try:
        content = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(path, f"not UTF-8 text ({exc.reason})", "a HexJSON file") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                             "a complete HexJSON file") from None
    if not isinstance(content, dict) or not isinstance(content.get("hexes"), dict):
        raise InputFileError(path, "no `hexes` object", "a HexJSON object with `layout` and `hexes`")
    found = content.get("layout")
    if found not in LAYOUTS:
        raise InputFileError(path, f"layout {found!r}", f"one of {', '.join(LAYOUTS)}")
    if layout is not None and found != layout:
        raise InputFileError(path, f"layout {found!r}", f"layout {layout!r}")
    rows = []
    for code, hexagon in content["hexes"].items():
        if not isinstance(hexagon, dict):
            raise InputFileError(path, f"hex {code!r} is {type(hexagon).__name__}", "an object with q and r")
        position = []
        for axis in ("q", "r"):
            value = hexagon.get(axis)
            if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
                raise InputFileError(path, f"hex {code!r} has {axis} = {value!r}", f"a whole number for {axis}")
            position.append(int(value))
        name = hexagon.get("n", hexagon.get("name", ""))
        rows.append({"code": str(code).strip(), "name": str(name).strip(), "q": position[0], "r": position[1]})
    if not rows:
        raise InputFileError(path, "no hexes", "at least one hex")
    return pd.DataFrame(rows, columns=["code", "name", "q", "r"])
