"""Disclosure control: no shown count below the threshold, and no suppressed count recoverable, checked by
methods independent of the one sendlib uses: subtraction along rows and columns, and, for small tables,
enumerating every whole-number table consistent with what is shown."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendlib.feedback.disclosure import (
    FEWER,
    HIDDEN,
    SHOWN,
    WITHHELD,
    Grid,
    median_band,
    median_relations,
    primary_status,
    protect_grid,
    value_ranges,
)
from sendlib.feedback.summary import others_can_be_combined, plan_columns

K = 5


def make_grid(table: list[list[int]], total: bool = True, hidden_rows: tuple[str, ...] = (),
              medians: bool = False, threshold: int = K) -> Grid:
    """Return a Grid from rows of counts (columns c0, c1, ... and the total column T when `total`)."""
    rows = tuple(f"r{i}" for i in range(len(table)))
    parts = tuple(f"c{j}" for j in range(len(table[0])))
    counts = {(r, c): table[i][j] for i, r in enumerate(rows) for j, c in enumerate(parts)}
    columns = parts + (("T",) if total else ())
    if total:
        counts.update({(r, "T"): sum(table[i]) for i, r in enumerate(rows)})
    extra = []
    if medians:
        for c in columns:
            cells = [(r, c) for r in rows]
            extra += median_relations(cells, [counts[x] for x in cells], threshold, ("median", c))
    return Grid(counts, rows, columns, "T" if total else None, hidden_rows, tuple(extra))


def subtraction_reveals(grid: Grid, status: dict) -> set:
    """Return the cells a reader learns by repeated subtraction along rows and columns (with the column totals)."""
    known = {c: v for c, v in grid.counts.items() if status[c] == SHOWN}
    relations = [([(r, c) for r in grid.rows], [1] * len(grid.rows), sum(grid.counts[(r, c)] for r in grid.rows))
                 for c in grid.columns]
    if grid.total:
        parts = [c for c in grid.columns if c != grid.total]
        relations += [([(r, c) for c in parts] + [(r, grid.total)], [1] * len(parts) + [-1], 0) for r in grid.rows]
    learned, changed = set(), True
    while changed:
        changed = False
        for cells, coefs, constant in relations:
            missing = [c for c in cells if c not in known]
            if len(missing) == 1:
                rest = sum(coef * known[c] for c, coef in zip(cells, coefs, strict=True) if c in known)
                coef = coefs[cells.index(missing[0])]
                known[missing[0]] = (constant - rest) // coef
                learned.add(missing[0])
                changed = True
    return learned


def possible_values(grid: Grid, status: dict, threshold: int = K, limit: int = 300_000) -> dict | None:
    """Return, for each hidden cell, every value it takes in some whole-number table consistent with what is
    shown (None when the search is too large): the brute-force check, independent of any solver."""
    hidden = [c for c in grid.counts if status[c] != SHOWN]
    column_total = {c: sum(grid.counts[(r, c)] for r in grid.rows) for c in grid.columns}
    domains = [range(1, threshold) if status[c] == FEWER else range(0, column_total[c[1]] + 1) for c in hidden]
    size = 1
    for d in domains:
        size *= len(d)
    if size > limit:
        return None
    seen = {c: set() for c in hidden}
    for candidate in itertools.product(*domains):
        table = dict(grid.counts)
        table.update(zip(hidden, candidate, strict=True))
        if not all(sum(table[(r, c)] for r in grid.rows) == column_total[c] for c in grid.columns):
            continue
        if grid.total and not all(table[(r, grid.total)] == sum(table[(r, c)] for c in grid.columns if c != grid.total)
                                  for r in grid.rows):
            continue
        if not all(sum(coef * table[c] for c, coef in zip(rel.cells, rel.coefs, strict=True)) <= rel.constant
                   for rel in grid.extra if rel.kind == "le" and status.get(rel.source) == SHOWN):
            continue
        for cell, value in zip(hidden, candidate, strict=True):
            seen[cell].add(value)
    return seen


def small(grid: Grid, threshold: int = K) -> list:
    return [c for c, v in grid.counts.items() if 0 < v < threshold]


def test_small_counts_are_primary_and_zeros_are_shown():
    status = primary_status({"a": 0, "b": 1, "c": 4, "d": 5, "e": 12}, K)
    assert status == {"a": SHOWN, "b": FEWER, "c": FEWER, "d": SHOWN, "e": SHOWN}


def test_one_small_cell_is_protected_by_a_rectangle():
    grid = make_grid([[6, 2, 7], [5, 9, 0], [0, 5, 8]])
    status = protect_grid(grid, K)
    assert status[("r0", "c1")] == FEWER
    withheld = [c for c, s in status.items() if s == WITHHELD]
    assert len(withheld) == 3, withheld  # the cheapest rectangle, not the whole table
    assert not subtraction_reveals(grid, status)
    seen = possible_values(grid, status)
    assert len(seen[("r0", "c1")]) >= 2


def test_without_secondary_suppression_subtraction_would_reveal_the_cell():
    grid = make_grid([[6, 2, 7], [5, 9, 0], [0, 5, 8]])
    assert ("r0", "c1") in subtraction_reveals(grid, primary_status(grid.counts, K))


def test_fewer_than_labels_alone_can_pin_counts_so_a_label_becomes_withheld():
    grid = make_grid([[1], [1], [1], [1], [1], [1]], total=False)  # six respondents, one to an answer
    status = protect_grid(grid, K)
    assert WITHHELD in status.values()
    seen = possible_values(grid, status)
    assert all(len(seen[c]) >= 2 for c in small(grid)), seen


def test_a_median_that_pins_a_count_is_withheld():
    grid = make_grid([[2, 1, 2], [1, 2, 1], [0, 0, 1], [0, 4, 1], [0, 1, 1]], medians=True)
    status = protect_grid(grid, K)
    seen = possible_values(grid, status, limit=2_000_000)
    if seen is not None:
        assert all(len(seen[c]) >= 2 for c in small(grid)), seen
    ranges = value_ranges(grid.counts, [r for r in grid.relations() if r.source is None or status[r.source] == SHOWN],
                          status, K, small(grid))
    assert all(high - low >= 1 for low, high in ranges.values()), ranges


def test_hidden_rows_are_protected_though_never_shown():
    # ticked / not ticked: 'not ticked' is never displayed but follows from the column's respondents
    grid = make_grid([[6, 5], [2, 9]], hidden_rows=("r1",))
    status = protect_grid(grid, K)
    assert status[("r1", "c0")] == HIDDEN
    assert status[("r0", "c0")] == WITHHELD  # else 8 - 6 = 2 would be known
    assert not ({("r1", "c0")} & subtraction_reveals(grid, status))


def test_median_band_and_what_it_tells():
    assert median_band([1, 1, 1, 1, 1]) == 2
    assert median_band([5, 0, 0, 1]) == 0
    assert median_band([0, 0, 3]) == 2
    with pytest.raises(ValueError):
        median_band([0, 0])
    facts = median_relations(["a", "b", "c"], [1, 1, 1], K)
    assert len(facts) == 1 and facts[0].kind == "le" and facts[0].constant == K - 1


RANDOM_GRIDS = []
_rng = random.Random(20250314)
for _ in range(30):
    rows, cols = _rng.choice([(2, 2), (2, 3), (3, 2), (3, 3)])
    RANDOM_GRIDS.append([[_rng.choice([0, 1, 2, 3, 4, 5, 6, 9]) for _ in range(cols)] for _ in range(rows)])


@pytest.mark.parametrize("table", RANDOM_GRIDS)
def test_random_small_tables_leave_every_small_count_uncertain(table):
    grid = make_grid(table, total=True, medians=len(table) == 3)
    status = protect_grid(grid, K)
    assert all(not (0 < grid.counts[c] < K) for c, s in status.items() if s == SHOWN and c in grid.counts)
    assert not (set(small(grid)) & subtraction_reveals(grid, status))
    seen = possible_values(grid, status)
    if seen is not None:
        for cell in small(grid):
            assert len(seen[cell]) >= 2, (cell, seen[cell], status)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(0, 12), min_size=2, max_size=5), min_size=2, max_size=6).filter(
    lambda rows: len({len(r) for r in rows}) == 1), st.integers(3, 7), st.booleans())
def test_any_table_shows_no_small_count_and_none_can_be_subtracted(table, threshold, medians):
    grid = make_grid(table, total=True, medians=medians, threshold=threshold)
    status = protect_grid(grid, threshold)
    for cell, state in status.items():
        if cell in grid.counts and state == SHOWN:
            assert not 0 < grid.counts[cell] < threshold
    assert not (set(small(grid, threshold)) & subtraction_reveals(grid, status))


def test_councils_below_the_threshold_are_combined_only_when_safe():
    assert others_can_be_combined([3, 2], 5)
    assert others_can_be_combined([1, 4, 2], 5)
    assert not others_can_be_combined([4, 4], 5)  # 8 between two councils each under 5: both must be 4
    assert not others_can_be_combined([2, 2], 5)  # 4 in all: fewer than the threshold
    assert not others_can_be_combined([4], 5)
    plan = plan_columns({"383": 12, "384": 3, "380": 7, "381": 2}, 5, "E12000003", {"383": "Leeds", "380": "Bradford"})
    assert plan.shown == ("380", "383") and plan.others == ("381", "384") and plan.excluded == ()
    assert plan.columns == ("380", "383", "others", "E12000003") and plan.total == "E12000003"
    alone = plan_columns({"383": 12, "384": 3}, 5, "E12000003")
    assert alone.columns == ("383",) and alone.total is None and alone.excluded == ("384",)
    assert alone.column_of("384") is None and alone.column_of("383") == "383"
