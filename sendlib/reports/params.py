"""Which reports to build and with which parameters, all checked before anything runs.

Every area a user names is resolved against the areas registry (unknown: ParameterError listing the
valid values and the closest matches; the CLI exits 2). Notebooks receive the resolved registry CODE,
never the user's text, and each value must be a plain string of capitals and digits that is a registry
code, so nothing a user types can reach the injected parameters cell as code. Each notebook's
`parameters` cell is parsed and a parameter it does not define is refused (papermill would only warn).
"""

from __future__ import annotations

import ast
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sendlib.errors import ParameterError, SendlibError
from sendlib.geography import ENGLAND_CODE, areas, current_las, find_area_codes, slug, suggest_areas
from sendlib.paths import REPO_ROOT

NOTEBOOKS = {"england": "england.ipynb", "region": "region.ipynb", "la": "local_authority.ipynb"}
PARAMETER = {"england": None, "region": "region", "la": "la"}
CODE_PATTERN = re.compile(r"^[A-Z0-9]{3,9}$")


@dataclass(frozen=True)
class Report:
    """One report to build: the notebook, its parameters and where its HTML goes (relative to outputs/)."""

    kind: str
    notebook: Path
    relpath: str
    title: str
    area_code: str = ""
    parameters: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def params(self) -> dict[str, str]:
        """Return the parameters as a dict."""
        return dict(self.parameters)

    @property
    def stem(self) -> str:
        """Return the output path without '.html' ('regions/london')."""
        return self.relpath[: -len(".html")] if self.relpath.endswith(".html") else self.relpath


def notebooks_dir() -> Path:
    """Return the folder of report notebooks (env SENDLIB_NOTEBOOKS_DIR overrides notebooks/)."""
    return Path(os.environ.get("SENDLIB_NOTEBOOKS_DIR", REPO_ROOT / "notebooks")).resolve()


# --------------------------------------------------------------------------------------- notebooks


def parameters_cell(path: Path) -> str | None:
    """Return the source of the notebook's cell tagged `parameters` (None if it has none)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SendlibError(f"{path}: cannot read the notebook ({exc})") from exc
    tagged = [cell for cell in notebook.get("cells", [])
              if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(tagged) > 1:
        raise SendlibError(f"{path}: {len(tagged)} cells are tagged `parameters`; expected one")
    if not tagged:
        return None
    source = tagged[0].get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_parameters(path: Path) -> dict[str, str]:
    """Return name -> default (as written) for each variable the `parameters` cell assigns."""
    source = parameters_cell(path)
    if source is None:
        return {}
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise SendlibError(f"{path}: the parameters cell is not valid Python ({exc})") from exc
    names: dict[str, str] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) and node.value is not None else []
        for target in targets:
            if isinstance(target, ast.Name):
                names[target.id] = ast.get_source_segment(source, node.value) or ""  # type: ignore[union-attr]
    return names


def check_notebook_parameters(path: Path, names: Iterable[str]) -> None:
    """Raise ParameterError if the notebook's parameters cell does not define every name passed to it."""
    names = list(names)
    if not path.is_file():
        raise SendlibError(f"notebook {path} not found")
    if not names:
        return
    defined = notebook_parameters(path)
    for name in names:
        if name not in defined:
            expected = (f"a parameter defined in the `parameters` cell of {path.name} "
                        + (f"({', '.join(sorted(defined))})" if defined else "(it has none)"))
            raise ParameterError("notebook parameter", name, expected, _close(name, defined))


def _close(name: str, choices: Iterable[str]) -> list[str]:
    """Return the choices closest to a misspelt name."""
    import difflib

    return difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)


def check_value(name: str, value: object, registry: pd.DataFrame) -> str:
    """Return the value if it is a plain registry code string; raise ParameterError otherwise."""
    if type(value) is not str or not CODE_PATTERN.fullmatch(value):
        raise ParameterError(name, value, "a registry area code (3 digits or an E-code, capitals and digits only)")
    if value not in set(registry["area_code"]):
        raise ParameterError(name, value, "an area code in areas.csv")
    return value


# --------------------------------------------------------------------------------------- areas


def _valid_regions(registry: pd.DataFrame) -> str:
    """Return 'North East (E12000001), ...' for the regions."""
    rows = registry[registry["level"] == "region"].sort_values("area_code")
    return ", ".join(f"{r.area_name} ({r.area_code})" for r in rows.itertuples())


def resolve_one(query: object, level: str, registry: pd.DataFrame) -> pd.Series:
    """Return the registry row a --region or --la value names; ParameterError lists valid values and matches."""
    option = f"--{level}"
    text = query if isinstance(query, str) else ""
    codes = find_area_codes(text, (level,), registry) if text.strip() else []
    if len(codes) == 1:
        return registry[registry["area_code"] == codes[0]].iloc[0]
    if level == "region":
        valid = "a region name or code, one of: " + _valid_regions(registry)
    else:
        valid = ("an LA's 3-digit code, ONS code or name; the current LAs' codes are: "
                 + ", ".join(current_las(registry)["area_code"]))
    if codes:
        labels = [f"{r.area_name} ({r.area_code})" for r in registry[registry["area_code"].isin(codes)].itertuples()]
        raise ParameterError(option, query, f"{valid} (it matches several areas)", labels)
    raise ParameterError(option, query, valid, suggest_areas(text, (level,), registry) if text else [])


def report_for(row: pd.Series | None, kind: str, notebooks: Path) -> Report:
    """Return the Report for England (row None), a region row or an LA row."""
    notebook = notebooks / NOTEBOOKS[kind]
    if kind == "england":
        return Report("england", notebook, "england.html", "England", ENGLAND_CODE)
    name, code = str(row["area_name"]), str(row["area_code"])
    relpath = f"regions/{slug(name)}.html" if kind == "region" else f"las/{code}-{slug(name)}.html"
    return Report(kind, notebook, relpath, name, code, ((PARAMETER[kind], code),))


def select_reports(*, england: bool = False, regions: Iterable[str] = (), all_regions: bool = False,
                   las: Iterable[str] = (), all_las: bool = False, all_: bool = False,
                   registry: pd.DataFrame | None = None, notebooks: Path | None = None) -> list[Report]:
    """Return the reports a selection names (none at all means England and the 9 regions), in order."""
    registry = areas() if registry is None else registry
    notebooks = notebooks or notebooks_dir()
    regions, las = list(regions), list(las)
    if not (england or regions or all_regions or las or all_las or all_):
        all_ = True
    region_rows = [resolve_one(q, "region", registry) for q in regions]
    la_rows = [resolve_one(q, "la", registry) for q in las]
    if all_ or all_regions:
        region_rows += [r for _, r in registry[registry["level"] == "region"].sort_values("area_code").iterrows()]
    if all_las:
        la_rows += [r for _, r in current_las(registry).iterrows()]
    reports = [report_for(None, "england", notebooks)] if (england or all_) else []
    reports += [report_for(r, "region", notebooks) for r in region_rows]
    reports += [report_for(r, "la", notebooks) for r in la_rows]
    unique = list(dict.fromkeys(reports))
    check_reports(unique, registry)
    return unique


def check_reports(reports: Iterable[Report], registry: pd.DataFrame | None = None) -> None:
    """Check every report's parameter values and names against the registry and its notebook."""
    registry = areas() if registry is None else registry
    reports = list(reports)
    relpaths = [r.relpath for r in reports]
    if len(set(relpaths)) != len(relpaths):
        raise SendlibError("two reports would write the same file: " + ", ".join(
            sorted({p for p in relpaths if relpaths.count(p) > 1})))
    seen: dict[Path, set[str]] = {}
    for report in reports:
        for name, value in report.parameters:
            if report.kind in PARAMETER:
                check_value(name, value, registry)
            elif type(value) is not str or not re.fullmatch(r"[A-Za-z0-9_.\- ]{0,64}", value):
                raise ParameterError(name, value, "a plain string of letters, digits, spaces, '.', '_' or '-'")
        seen.setdefault(report.notebook, set()).update(report.params)
    for notebook, names in seen.items():
        check_notebook_parameters(notebook, sorted(names))


def parameter_labels(report: Report, registry: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Return (name, 'value (area name)') pairs for the footer."""
    names = registry or {}
    return [(k, f"{v} ({names[v]})" if v in names else v) for k, v in report.parameters]
