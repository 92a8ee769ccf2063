"""The areas registry (LAs since 2015, regions, England): building it, finding an area by code or name,
and harmonising panels across the reorganisations of Dorset, Northamptonshire and Cumbria."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sendlib.data import load
from sendlib.errors import InputFileError, ParameterError
from sendlib.periods import ENGLAND_CODE, existed_in_financial_year, is_fy_label

__all__ = ["ENGLAND_CODE"]  # re-exported: the one definition is sendlib.periods.ENGLAND_CODE
FIRST_JANUARY = 2015

#: Short names people use that are not prefixes of the official name, or that would be ambiguous.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "314": ("Kingston",),
    "810": ("Hull", "City of Hull"),
    "839": ("BCP", "Bournemouth Christchurch and Poole"),
    "846": ("Brighton", "Brighton & Hove"),
    "840": ("Durham",),
    "861": ("Stoke",),
    "882": ("Southend",),
    "884": ("Hereford",),
    "801": ("City of Bristol",),
    "391": ("Newcastle",),
    "816": ("City of York",),
    "313": ("Hounslow Council",),
    "878": ("Devon County",),
}

REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "E12000001": ("North East England",),
    "E12000002": ("North West England",),
    "E12000003": ("Yorkshire and the Humber", "Yorkshire", "Yorkshire & Humber", "Yorkshire and Humber"),
    "E12000004": ("East Midlands",),
    "E12000005": ("West Midlands",),
    "E12000006": ("East of England", "East", "Eastern"),
    "E12000007": ("London", "Greater London"),
    "E12000008": ("South East", "South East England"),
    "E12000009": ("South West", "South West England"),
}


# --------------------------------------------------------------------------------------- names


def normalise_name(name: str) -> str:
    """Return a comparable form of an area name: lower case, '&' -> 'and', no ', City of' suffix or punctuation."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ")
    text = re.sub(r",\s*(city|county) of\s*$", "", text)
    text = re.sub(r"\(pre lg\)", "", text)
    text = re.sub(r"\bst\.", "st", text)
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def display_name(official: str) -> str:
    """Return the everyday form of an official LA name ('Bristol, City of' -> 'Bristol')."""
    return re.sub(r",\s*(City|County) of\s*$", "", str(official).strip())


def slug(name: str) -> str:
    """Return a file-name-safe form of an area name ('Bournemouth, Christchurch and Poole' -> 'bournemouth-christchurch-and-poole')."""
    return normalise_name(name).replace(" ", "-") or "area"


def split_list(value: object) -> list[str]:
    """Return the items of a ';'-separated registry cell (empty list for a missing or empty cell)."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return []
    return [item for item in str(value).split(";") if item]


# --------------------------------------------------------------------------------------- build


def build_areas(
    geo_hierarchy: pd.DataFrame,
    old_codes: pd.DataFrame,
    boundary_changes: pd.DataFrame,
    sen2_presence: pd.DataFrame,
) -> pd.DataFrame:
    """Return areas.csv: every upper-tier LA counted in SEN2 since January 2015, the 9 regions and England.

    `sen2_presence` has one row per LA and January: old_la_code, new_la_code, la_name, region_code,
    region_name, january (from the SEN2 caseload files, which say which LAs existed when).
    """
    presence = sen2_presence[sen2_presence["january"] >= FIRST_JANUARY]
    successors = _successors(boundary_changes)
    rows = []
    for code, group in presence.groupby("old_la_code", sort=True):
        latest = group.sort_values("january").iloc[-1]
        ons_codes = _ons_codes_for(code, geo_hierarchy, old_codes, group)
        rows.append({
            "area_code": code,
            "ons_code": ons_codes[0],
            "area_name": display_name(latest["la_name"]),
            "level": "la",
            "region_code": latest["region_code"],
            "region_name": latest["region_name"],
            "first_year": int(group["january"].min()),
            "last_year": int(group["january"].max()),
            "successor_codes": ";".join(successors.get(code, [])),
            "former_ons_codes": ";".join(ons_codes[1:]),
            "aliases": ";".join(_aliases(code, latest["la_name"])),
        })
    las = pd.DataFrame(rows)
    # an abolished LA that shares its name with its successor (Dorset county, Dorset unitary) is named by its end
    shared = las["area_name"].duplicated(keep=False) & (las["last_year"] < las["last_year"].max())
    las.loc[shared, "area_name"] = las.loc[shared].apply(lambda r: f"{r.area_name} (to {r.last_year})", axis=1)
    regions = (presence[["region_code", "region_name"]].drop_duplicates().sort_values("region_code"))
    if regions["region_code"].duplicated().any():
        raise InputFileError("SEN2 caseload files", "a region code has two names", "one name per region")
    first, last = int(presence["january"].min()), int(presence["january"].max())
    region_rows = pd.DataFrame({
        "area_code": regions["region_code"], "ons_code": regions["region_code"],
        "area_name": regions["region_name"], "level": "region",
        "region_code": regions["region_code"], "region_name": regions["region_name"],
        "first_year": first, "last_year": last, "successor_codes": "", "former_ons_codes": "",
        "aliases": [";".join(a for a in REGION_ALIASES.get(c, ()) if a != n)
                    for c, n in zip(regions["region_code"], regions["region_name"], strict=True)],
    })
    england = pd.DataFrame([{
        "area_code": ENGLAND_CODE, "ons_code": ENGLAND_CODE, "area_name": "England", "level": "england",
        "region_code": "", "region_name": "", "first_year": first, "last_year": last,
        "successor_codes": "", "former_ons_codes": "", "aliases": "",
    }])
    return pd.concat([las, region_rows, england], ignore_index=True)


#: Successions the boundary-change file states in words only: Christchurch moved from Dorset county (835)
#: to Bournemouth, Christchurch and Poole (839) in April 2019, so BCP succeeds Dorset county in part.
PARTIAL_SUCCESSORS: dict[str, tuple[str, ...]] = {"835": ("839",)}


def _successors(changes: pd.DataFrame) -> dict[str, list[str]]:
    """Return predecessor 3-digit code -> successor codes, for reorganisations that changed the code."""
    result: dict[str, list[str]] = {k: list(v) for k, v in PARTIAL_SUCCESSORS.items()}
    for _, row in changes.iterrows():
        before, after = str(row["predecessor_old_la_code"]).strip(), str(row["successor_old_la_code"]).strip()
        if re.fullmatch(r"\d{3}", before) and re.fullmatch(r"\d{3}", after) and before != after:
            result.setdefault(before, [])
            if after not in result[before]:
                result[before].append(after)
    return {k: sorted(v) for k, v in result.items()}


def _ons_codes_for(code: str, geo: pd.DataFrame, old_codes: pd.DataFrame, sen2: pd.DataFrame) -> list[str]:
    """Return the LA's ONS codes, the most recent first (dfeR years in use, then SEN2)."""
    rows = geo[geo["old_la_code"] == code].copy()
    ordered: list[str] = []
    if not rows.empty:
        rows["last_year"] = pd.to_numeric(rows["last_year"])
        ordered = rows.sort_values("last_year", ascending=False)["new_la_code"].tolist()
    for extra in list(sen2.sort_values("january", ascending=False)["new_la_code"]) + list(
        old_codes.loc[old_codes["old_la_code"] == code, "new_la_code"]
    ):
        if extra and extra not in ordered and re.fullmatch(r"E\d{8}", extra):
            ordered.append(extra)
    if not ordered:
        raise InputFileError("la_lookup", f"no ONS code found for LA {code}", "a 9-character ONS code")
    return ordered


def _aliases(code: str, official: str) -> list[str]:
    """Return other names an LA goes by: its official form and common short names."""
    names = []
    if display_name(official) != official:
        names.append(official)
    names.extend(COMMON_NAMES.get(code, ()))
    return names


# --------------------------------------------------------------------------------------- lookups


def areas() -> pd.DataFrame:
    """Return the validated areas registry (areas.csv)."""
    return load("areas")


def current_las(registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the registry rows of the LAs counted in the latest January (the current LAs), by code."""
    registry = areas() if registry is None else registry
    las = registry[registry["level"] == "la"]
    return las[las["last_year"] == las["last_year"].max()].sort_values("area_code").reset_index(drop=True)


def latest_january(registry: pd.DataFrame | None = None) -> int:
    """Return the latest January any LA was counted (the year of the current LAs)."""
    registry = areas() if registry is None else registry
    return int(registry.loc[registry["level"] == "la", "last_year"].max())


def _candidates(registry: pd.DataFrame) -> list[tuple[str, str]]:
    """Return (normalised name, area_code) for every name and alias in the registry."""
    pairs = []
    for row in registry.itertuples(index=False):
        names = [row.area_name] + split_list(row.aliases)
        pairs.extend((normalise_name(n), row.area_code) for n in names)
    return pairs


#: The longest query matched, in characters: a longer one is refused before any matching (and echoed back cut short).
MAX_QUERY = 200
#: How much of a refused query an error message repeats.
ECHO_LENGTH = 60


def echo(query: object) -> str:
    """Return a query as an error message may repeat it: at most ECHO_LENGTH characters ('…' where cut)."""
    text = str(query)
    return text if len(text) <= ECHO_LENGTH else text[: ECHO_LENGTH - 1] + "…"


def query_problem(query: object) -> str | None:
    """Return what a query should have been if it cannot name any area (empty, too long, no letters or digits),
    else None."""
    text = str(query).strip()
    if not text:
        return "a name or code, not an empty value"
    if len(text) > MAX_QUERY:
        return f"a name or code of at most {MAX_QUERY} characters (this one has {len(text):,})"
    if not normalise_name(text):
        return "a name or code in letters (A-Z) or digits; this one has none (other alphabets are not read)"
    return None


def _matches(query: str, levels: Iterable[str], registry: pd.DataFrame) -> tuple[list[str], str]:
    """Return (codes, how) for a query: how is 'code', 'name' (a whole name or alias), 'word' (the start of a
    word of a name or alias) or '' (no match, or a query that cannot name an area)."""
    registry = registry[registry["level"].isin(list(levels))]
    text = str(query).strip()
    if query_problem(text):
        return [], ""
    upper = text.upper()
    by_code = registry[(registry["area_code"].str.upper() == upper) | (registry["ons_code"].str.upper() == upper)
                       | registry["former_ons_codes"].fillna("").str.upper().str.split(";").apply(lambda xs: upper in xs)]
    if not by_code.empty:
        return by_code["area_code"].drop_duplicates().tolist(), "code"
    wanted = normalise_name(text)
    pairs = _candidates(registry)
    exact = sorted({code for name, code in pairs if name == wanted})
    if exact:
        return exact, "name"
    # a partial name must start a word of a name or alias ('tower ham', 'hamlets'), never the middle of one
    starts = sorted({code for name, code in pairs if f" {name}".find(f" {wanted}") >= 0})
    return starts, "word" if starts else ""


def find_area_codes(query: str, levels: Iterable[str] = ("la", "region", "england"),
                    registry: pd.DataFrame | None = None) -> list[str]:
    """Return the codes matching a query: a 3-digit code, an ONS code, a name or alias (any case), or else the
    start of a word of a name or alias. A query with no letters or digits, or longer than MAX_QUERY, matches none."""
    registry = areas() if registry is None else registry
    return _matches(query, levels, registry)[0]


def suggest_areas(query: str, levels: Iterable[str] = ("la", "region", "england"),
                  registry: pd.DataFrame | None = None, limit: int = 5) -> list[str]:
    """Return up to `limit` 'Name (code)' suggestions close to a query that matched nothing (best first)."""
    registry = areas() if registry is None else registry
    registry = registry[registry["level"].isin(list(levels))]
    if query_problem(query):
        return []
    wanted = normalise_name(query)
    scores: dict[str, float] = {}
    for name, code in _candidates(registry):
        whole = difflib.SequenceMatcher(None, wanted, name).ratio()
        start = difflib.SequenceMatcher(None, wanted, name[: len(wanted) + 1]).ratio()
        contains = 0.9 if wanted in name else 0.0
        scores[code] = max(scores.get(code, 0.0), whole, start * 0.95, contains)
    labels = dict(zip(registry["area_code"], registry["area_name"], strict=True))
    best = sorted((s, c) for c, s in scores.items() if s >= 0.6)
    return [f"{labels[c]} ({c})" for s, c in sorted(best, key=lambda t: (-t[0], labels[t[1]]))[:limit]]


#: The most candidates an 'it matches several areas' message lists.
MAX_LISTED = 12


@dataclass(frozen=True)
class AreaMatch:
    """The one area a query named, and whether it was taken from the start of a word of its name (partial)."""

    row: pd.Series
    query: str
    partial: bool

    def taken_as(self, flag: str) -> str:
        """Return the line saying which area a partial name was taken as ("--area 'West' taken as ...")."""
        return f"{flag} {echo(self.query)!r} taken as {self.row['area_name']} ({self.row['area_code']})"


def match_area(query: str, levels: Iterable[str] = ("la", "region", "england"), parameter: str = "area",
               registry: pd.DataFrame | None = None) -> AreaMatch:
    """Return the one area a query names (a code, a whole name or alias, or the start of a word of exactly one
    area's name or alias), or raise ParameterError naming `parameter` with the candidates or close matches."""
    levels = tuple(levels)
    registry = areas() if registry is None else registry
    kinds = " or ".join({"la": "an LA (3-digit code, ONS code or name)", "region": "a region (name or E12 code)",
                         "england": "England"}[lv] for lv in levels)
    problem = query_problem(query)
    if problem:
        raise ParameterError(parameter, echo(query), f"{kinds}: {problem}")
    codes, how = _matches(query, levels, registry)
    if len(codes) == 1:
        return AreaMatch(registry[registry["area_code"] == codes[0]].iloc[0], str(query), how == "word")
    if codes:
        rows = registry[registry["area_code"].isin(codes)].sort_values("area_name")
        labels = [f"{r.area_name} ({r.area_code})" for r in rows.itertuples()]
        if len(labels) > MAX_LISTED:
            labels = labels[:MAX_LISTED] + [f"… and {len(labels) - MAX_LISTED} more"]
        raise ParameterError(parameter, echo(query), f"{kinds}; it matches several areas (give more of the name, "
                                                     "or the code)", labels)
    raise ParameterError(parameter, echo(query), kinds, suggest_areas(query, levels, registry))


def resolve_area(query: str, levels: Iterable[str] = ("la", "region", "england"), parameter: str = "area",
                 registry: pd.DataFrame | None = None) -> pd.Series:
    """Return the registry row of the one area a query names, or raise ParameterError with close matches."""
    return match_area(query, levels, parameter, registry).row


def region_las(region_code: str, registry: pd.DataFrame | None = None, current_only: bool = False) -> pd.DataFrame:
    """Return the registry rows of the LAs in a region (all since 2015, or only those existing now)."""
    registry = areas() if registry is None else registry
    las = current_las(registry) if current_only else registry[registry["level"] == "la"]
    return las[las["region_code"] == region_code]


# --------------------------------------------------------------------------------------- harmonise


def stable_units(registry: pd.DataFrame | None = None) -> dict[str, str]:
    """Return area_code -> stable unit code, joining predecessor and successor LAs into one unit."""
    registry = areas() if registry is None else registry
    las = registry[registry["level"] == "la"]
    parent = {code: code for code in las["area_code"]}

    def find(code: str) -> str:
        while parent[code] != code:
            code = parent[code]
        return code

    for row in las.itertuples():
        for successor in split_list(row.successor_codes):
            if successor in parent:
                parent[find(successor)] = find(row.area_code)
    groups: dict[str, list[str]] = {}
    for code in parent:
        groups.setdefault(find(code), []).append(code)
    mapping = {}
    for members in groups.values():
        unit = "+".join(sorted(members)) if len(members) > 1 else members[0]
        for code in members:
            mapping[code] = unit
    return mapping


def unit_names(registry: pd.DataFrame | None = None) -> dict[str, str]:
    """Return stable unit code -> readable name ('Cumbria / Cumberland + Westmorland and Furness')."""
    registry = areas() if registry is None else registry
    names = dict(zip(registry["area_code"], registry["area_name"], strict=True))
    result = {}
    for code, unit in stable_units(registry).items():
        if "+" in unit:
            members = unit.split("+")
            older = [names[m] for m in members if not _is_successor(m, registry)]
            newer = [names[m] for m in members if _is_successor(m, registry)]
            result[unit] = " + ".join(older) + " / " + " + ".join(newer)
        else:
            result[code] = names[code]
    return result


def _is_successor(code: str, registry: pd.DataFrame) -> bool:
    """Return True if some LA names this code as its successor."""
    return any(code in split_list(v) for v in registry["successor_codes"])


def harmonise(df: pd.DataFrame, period: str | None = None, values: Iterable[str] | None = None,
              registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return a panel on stable units: LAs joined across reorganisations, counts summed per period.

    `period` is the column holding the January (int) or financial year ('2019-20'); `values` are the
    additive columns to sum (default: numeric columns not ending in _pct, _rate, _index or _per_*).
    A unit's value for a period is missing unless every member LA that existed then has a value, so
    growth never jumps at a reorganisation. Regions and England pass through unchanged.
    """
    registry = areas() if registry is None else registry
    if period is None:
        period = next((c for c in ("january", "financial_year", "year", "mid_year") if c in df.columns), None)
        if period is None:
            raise ValueError("harmonise: no period column (january, financial_year, year) in the panel")
    if values is None:
        values = [c for c in df.select_dtypes("number").columns if c != period
                  and not re.search(r"(_pct|_rate|_index|_per_.*|_year)$", c)]
    values = list(values)
    mapping = stable_units(registry)
    names = unit_names(registry)
    spans = registry.set_index("area_code")[["first_year", "last_year"]]
    is_la = df["level"].eq("la") if "level" in df.columns else df["area_code"].isin(mapping)
    others, las = df[~is_la], df[is_la].copy()
    las["unit"] = las["area_code"].map(mapping)
    if las["unit"].isna().any():
        unknown = sorted(las.loc[las["unit"].isna(), "area_code"].unique())
        raise ParameterError("area_code", unknown[0], "an LA code in areas.csv")
    joined = las["unit"].str.contains("+", regex=False)
    single = las[~joined]
    single = pd.DataFrame({"area_code": single["unit"], "area_name": single["unit"].map(names), "level": "la",
                           period: single[period], **{c: single[c] for c in values}})
    out = []
    for (unit, when), group in las[joined].groupby(["unit", period], sort=True):
        members = unit.split("+")
        existing = [m for m in members if existed_in(spans.loc[m], when)]
        have = group.set_index("area_code")
        row = {"area_code": unit, "area_name": names[unit], "level": "la", period: when}
        for column in values:
            got = have[column].reindex(existing)
            row[column] = got.sum() if len(existing) and got.notna().all() else float("nan")
        out.append(row)
    units = pd.DataFrame(out, columns=["area_code", "area_name", "level", period] + values)
    keep = [c for c in ["area_code", "area_name", "level", period] + values if c in others.columns]
    return pd.concat([single, units, others[keep]], ignore_index=True)


def existed_in(span: pd.Series, when: object) -> bool:
    """Return True if an LA with this first/last January existed in the period (January or financial year)."""
    if is_fy_label(when):
        return existed_in_financial_year(int(span["first_year"]), int(span["last_year"]), str(when))
    return int(span["first_year"]) <= int(when) <= int(span["last_year"])


def ons_to_area_code(registry: pd.DataFrame) -> dict[str, str]:
    """Return ONS code -> 3-digit code for every LA, former ONS codes included (Buckinghamshire, Somerset...)."""
    mapping = {ENGLAND_CODE: ENGLAND_CODE}
    for r in registry[registry["level"] == "la"].itertuples():
        for ons in [r.ons_code] + split_list(r.former_ons_codes):
            mapping[ons] = r.area_code
    return mapping


def codes_from_names(names: pd.Series, source_path: Path | str, registry: pd.DataFrame,
                     periods: pd.Series | None = None) -> pd.Series:
    """Return the 3-digit code of each LA name in a file keyed by name; an unknown name is an error naming the file.

    Where a name belongs to two LAs (Dorset county to 2019, Dorset unitary after), `periods` (January or
    financial year of each row) picks the one that existed then.
    """
    las = registry[registry["level"] == "la"]
    spans = las.set_index("area_code")[["first_year", "last_year"]]
    lookup: dict[str, set[str]] = {}
    for name, code in _candidates(las):
        lookup.setdefault(name, set()).add(code)
    # the registry calls the abolished Dorset county 'Dorset (to 2019)'; files of its years still say 'Dorset'
    for row in las.itertuples(index=False):
        if match := re.fullmatch(r"(.+) \(to \d{4}\)", str(row.area_name)):
            lookup.setdefault(normalise_name(match.group(1)), set()).add(row.area_code)
    result = []
    for position, name in enumerate(names):
        found = lookup.get(normalise_name(name), set())
        if len(found) > 1 and periods is not None:
            when = periods.iloc[position]
            found = {c for c in found if existed_in(spans.loc[c], when)}
        if len(found) != 1:
            problem = "is not in the areas registry" if not found else f"matches several LAs {sorted(found)}"
            raise InputFileError(source_path, f"LA name {name!r} {problem}", "an English upper-tier LA name")
        result.append(next(iter(found)))
    return pd.Series(result, index=names.index, dtype=object)
