"""Disclosure control for survey tables: primary suppression of small counts, and secondary suppression checked
by an exact integer audit, so that no suppressed count can be worked out from what a reader sees.

A table is a grid of counts of respondents: rows are answers, columns are areas (councils, a combined group,
the region's total), and a reader knows how they relate: each column sums to its respondents (published), the
total column is the sum of the others, and a published median band says how the counts below it compare with
half the answers. Cells from 1 to threshold - 1 are *primary*: shown as "fewer than 5" when displayed, and to
be protected too when not displayed but derivable (the respondents who did not tick an option).

The audit asks, for each primary cell, whether a table agreeing with every shown cell, every relation and what
the labels say (a "fewer than 5" cell is between 1 and 4; any other hidden cell at least 0) could hold a whole
number one respondent above or below the true one: first by trying to move a rectangle of hidden cells by one
(a quick proof), else by a small integer program solved exactly (HiGHS through scipy). A cell that cannot move
could be recovered. Then secondary suppression *withholds* more: the cheapest rectangle of cells that lets the
primary cell trade with another row and column (the classic way to keep both row and column sums), else the
smallest related cell, else the median band of the column, else a "fewer than 5" label becomes "withheld" (the
label says the count is at least 1, which can pin down counts spread one to an answer); and the audit runs
again until every primary cell is protected. Zeros are shown: a zero rests on all the respondents of its
column, none of whom gave that answer.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from sendlib.errors import SendlibError

SHOWN, FEWER, WITHHELD, HIDDEN = "shown", "fewer", "withheld", "hidden"
_SLACK = 1e-6
_TOTAL_PENALTY = 1000.0


@dataclass(frozen=True)
class Relation:
    """A fact a reader knows: sum(coef * cell) == constant (kind 'eq') or <= constant (kind 'le').

    `source` names the published figure the fact comes from when it can be withheld (a median: ('median', column)).
    """

    cells: tuple[Hashable, ...]
    coefs: tuple[int, ...]
    constant: int = 0
    kind: str = "eq"
    source: Hashable | None = None


def sum_relation(parts: Sequence[Hashable], total: Hashable | None = None, constant: int = 0) -> Relation:
    """Return the relation parts = total cell (or parts = constant when total is None)."""
    cells = tuple(parts) + ((total,) if total is not None else ())
    coefs = (1,) * len(parts) + ((-1,) if total is not None else ())
    return Relation(cells, coefs, 0 if total is not None else constant)


def primary_status(values: Mapping[Hashable, int], threshold: int) -> dict[Hashable, str]:
    """Return each cell's status before secondary suppression: 'fewer' for 1 to threshold - 1, else 'shown'."""
    return {cell: FEWER if 0 < int(v) < threshold else SHOWN for cell, v in values.items()}


def median_relations(cells: Sequence[Hashable], values: Sequence[int], threshold: int,
                     source: Hashable | None = None) -> list[Relation]:
    """Return what publishing the median band of ordered counts (or 'fewer than threshold answers') tells a reader.

    With n = sum of the counts: fewer than `threshold` answers gives n <= threshold - 1; otherwise the median
    band m (the first whose cumulative count reaches half) gives 2 * below(m) - n <= -1 and n - 2 * upto(m) <= 0.
    """
    n = sum(values)
    if n < threshold:
        return [Relation(tuple(cells), (1,) * len(cells), threshold - 1, "le", source)]
    band = median_band(values)
    below = [2 if i < band else 0 for i in range(len(cells))]
    upto = [2 if i <= band else 0 for i in range(len(cells))]
    return [Relation(tuple(cells), tuple(b - 1 for b in below), -1, "le", source),
            Relation(tuple(cells), tuple(1 - u for u in upto), 0, "le", source)]


def median_band(values: Sequence[int]) -> int:
    """Return the position of the band holding the median of ordered counts (the first reaching half)."""
    n, running = sum(values), 0
    if n <= 0:
        raise ValueError("median of no answers")
    for position, value in enumerate(values):
        running += value
        if 2 * running >= n:
            return position
    raise AssertionError("unreachable: the cumulative count reaches the total")


class Audit:
    """What a reader can deduce from a table as published: the least and greatest value of any hidden cell."""

    def __init__(self, values: Mapping[Hashable, int], relations: Sequence[Relation], status: Mapping[Hashable, str],
                 threshold: int):
        import numpy as np

        self.values = values
        self.unknown = [c for c in values if status[c] != SHOWN]
        self.where = {c: i for i, c in enumerate(self.unknown)}
        eq_rows, eq_rhs, le_rows, le_rhs = [], [], [], []
        for relation in relations:
            row = np.zeros(len(self.unknown))
            rhs = float(relation.constant)
            for cell, coef in zip(relation.cells, relation.coefs, strict=True):
                if cell in self.where:
                    row[self.where[cell]] += coef
                else:
                    rhs -= coef * float(values[cell])
            if not row.any():
                continue
            (eq_rows if relation.kind == "eq" else le_rows).append(row)
            (eq_rhs if relation.kind == "eq" else le_rhs).append(rhs)
        from scipy.optimize import Bounds, LinearConstraint

        self.bounds = Bounds([1 if status[c] == FEWER else 0 for c in self.unknown],
                             [threshold - 1 if status[c] == FEWER else np.inf for c in self.unknown])
        self.constraints = ([LinearConstraint(np.array(eq_rows), eq_rhs, eq_rhs)] if eq_rows else []) + (
            [LinearConstraint(np.array(le_rows), -np.inf, le_rhs)] if le_rows else [])

    def _extreme(self, cell: Hashable, sign: int) -> float:
        """Return the least (sign 1) or greatest (sign -1) whole number of respondents the cell can hold."""
        import numpy as np
        from scipy.optimize import milp

        if cell not in self.where:
            return float(self.values[cell])
        objective = np.zeros(len(self.unknown))
        objective[self.where[cell]] = sign
        result = milp(objective, integrality=np.ones(len(self.unknown)), bounds=self.bounds,
                      constraints=self.constraints)
        if result.status == 3:
            return float("inf") * -sign
        if result.status != 0:
            raise SendlibError(f"disclosure audit failed for cell {cell!r}: {result.message}")
        return float(result.fun) * sign

    def value_range(self, cell: Hashable) -> tuple[float, float]:
        """Return (least, greatest) value (count) a reader could deduce for the cell."""
        return self._extreme(cell, 1), self._extreme(cell, -1)

    def protected(self, cell: Hashable) -> bool:
        """Return True if the cell could be at least one respondent above or below its true value."""
        value = float(self.values[cell])
        return self._extreme(cell, -1) >= value + 1 - _SLACK or self._extreme(cell, 1) <= value - 1 + _SLACK


def value_ranges(values: Mapping[Hashable, int], relations: Sequence[Relation], status: Mapping[Hashable, str],
                 threshold: int, cells: Sequence[Hashable]) -> dict[Hashable, tuple[float, float]]:
    """Return (least, greatest) value (count) a reader could deduce for each of `cells` from what is shown."""
    audit = Audit(values, relations, status, threshold)
    return {cell: audit.value_range(cell) for cell in cells}


def sensitive_cells(values: Mapping[Hashable, int], status: Mapping[Hashable, str],
                    threshold: int) -> list[Hashable]:
    """Return the cells to protect: every count from 1 to threshold - 1, displayed or not."""
    return [c for c, v in values.items() if 0 < int(v) < threshold and status[c] in (FEWER, HIDDEN)]


def exposed_cells(values: Mapping[Hashable, int], relations: Sequence[Relation], status: Mapping[Hashable, str],
                  threshold: int, cells: Sequence[Hashable] | None = None) -> list[Hashable]:
    """Return the sensitive cells a reader could pin down: no value a whole respondent above or below is possible."""
    check = sensitive_cells(values, status, threshold) if cells is None else list(cells)
    if not check:
        return []
    audit = Audit(values, relations, status, threshold)
    return [c for c in check if not audit.protected(c)]


@dataclass(frozen=True)
class Grid:
    """A table of counts to protect: rows x columns, the total column (if any) and the rows not displayed."""

    counts: dict[tuple[str, str], int]
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    total: str | None = None
    hidden_rows: tuple[str, ...] = ()
    extra: tuple[Relation, ...] = ()

    def relations(self) -> list[Relation]:
        """Return what a reader knows: each column's sum (its respondents), each row's total, any extra facts."""
        facts = [sum_relation([(r, c) for r in self.rows], None, sum(self.counts[(r, c)] for r in self.rows))
                 for c in self.columns]
        if self.total is not None:
            parts = [c for c in self.columns if c != self.total]
            facts += [sum_relation([(r, c) for c in parts], (r, self.total)) for r in self.rows]
        return facts + list(self.extra)


def protect_grid(grid: Grid, threshold: int) -> dict[Hashable, str]:
    """Return each cell's status (shown, fewer, withheld; hidden for rows not displayed), every small cell protected.

    Figures behind the grid's extra facts (medians) get a status too, under their `source` key: they are withheld
    when withholding counts cannot protect a cell (a median band can pin a count down on its own).
    """
    values = grid.counts
    status: dict[Hashable, str] = {
        cell: (HIDDEN if cell[0] in grid.hidden_rows else FEWER if 0 < v < threshold else SHOWN)
        for cell, v in values.items()}
    sources = list(dict.fromkeys(r.source for r in grid.extra if r.source is not None))
    status.update({source: SHOWN for source in sources})
    pending = sensitive_cells(values, status, threshold)
    while pending:
        relations = [r for r in grid.relations() if r.source is None or status[r.source] == SHOWN]
        audit = Audit(values, relations, status, threshold)
        while pending and (_certificate(grid, pending[0], status, relations, threshold)
                           or audit.protected(pending[0])):
            pending.pop(0)  # withholding more never makes a protected cell less so
        if not pending:
            break
        cell = pending[0]
        chosen = (_rectangle(grid, cell, status) or _neighbour(grid, cell, status, relations, zeros=False)
                  or _source(cell, sources, status) or _relabel(cell, status, relations)
                  or _neighbour(grid, cell, status, relations, zeros=True))
        if not chosen:
            raise SendlibError(f"disclosure control cannot protect cell {cell!r}: nothing left to withhold")
        for item in chosen:
            status[item] = WITHHELD
    return status


def _certificate(grid: Grid, cell: tuple[str, str], status: Mapping, relations: Sequence[Relation],
                 threshold: int) -> bool:
    """Return True if another table, as consistent with everything shown as the true one, has this cell one
    respondent higher or lower: four hidden cells of a rectangle moved by one (a quick proof; else the LP decides)."""
    row, column = cell
    for other_row in grid.rows:
        for other_column in grid.columns:
            corners = [(row, other_column), (other_row, column), (other_row, other_column)]
            if other_row == row or other_column == column or any(status[c] == SHOWN for c in corners):
                continue
            for signs in ((1, -1, -1, 1), (1, 1, -1, -1), (1, -1, 1, -1)):
                for step in (1, -1):
                    moved = {c: grid.counts[c] + step * sign for c, sign in zip([cell] + corners, signs, strict=True)}
                    if _consistent(moved, grid.counts, status, relations, threshold):
                        return True
    return False


def _consistent(moved: Mapping, values: Mapping, status: Mapping, relations: Sequence[Relation],
                threshold: int) -> bool:
    """Return True if the table with `moved` cells changed keeps every label and every relation a reader knows."""
    for cell, value in moved.items():
        if value < 0 or (status[cell] == FEWER and not 1 <= value <= threshold - 1):
            return False
    for relation in relations:
        if not any(c in moved for c in relation.cells):
            continue
        total = sum(coef * moved.get(c, values[c]) for c, coef in zip(relation.cells, relation.coefs, strict=True))
        if (relation.kind == "eq" and total != relation.constant) or (relation.kind == "le" and total > relation.constant):
            return False
    return True


def _relabel(cell: tuple[str, str], status: Mapping, relations: Sequence[Relation]) -> list:
    """Return [a 'fewer than' cell to show as 'withheld' instead]: the cell itself, else one related to it.

    'Fewer than 5' tells a reader the count is at least 1; when the respondents of a column are spread one or two to
    an answer, those lower bounds alone pin the counts down, and only dropping the label protects them.
    """
    if status[cell] == FEWER:
        return [cell]
    related = [c for r in relations if cell in r.cells for c in r.cells if status.get(c) == FEWER]
    return related[:1]


def _source(cell: tuple[str, str], sources: list, status: Mapping) -> list:
    """Return [the published figure to withhold next]: one of the cell's column, else any still shown."""
    shown = [s for s in sources if status[s] == SHOWN]
    own = [s for s in shown if isinstance(s, tuple) and s[-1] == cell[1]]
    return (own or shown)[:1]


def _cost(grid: Grid, cell: tuple[str, str]) -> float:
    """Return the price of withholding a shown cell: its count, and much more in the total column."""
    return grid.counts[cell] + (_TOTAL_PENALTY if cell[1] == grid.total else 0.0)


def _rectangle(grid: Grid, cell: tuple[str, str], status: Mapping) -> list[tuple[str, str]]:
    """Return the shown cells to withhold so `cell` can trade with another row and column (cheapest first)."""
    row, column = cell
    best: tuple[float, list] | None = None
    for other_row in grid.rows:
        for other_column in grid.columns:
            if other_row == row or other_column == column:
                continue
            corners = [(row, other_column), (other_row, column), (other_row, other_column)]
            if any(grid.counts[c] == 0 for c in corners):
                continue
            new = [c for c in corners if status[c] == SHOWN]
            if not new:
                continue
            price = sum(_cost(grid, c) for c in new)
            if best is None or price < best[0]:
                best = (price, new)
    return best[1] if best else []


def _neighbour(grid: Grid, cell: tuple[str, str], status: Mapping, relations: Sequence[Relation],
               zeros: bool) -> list:
    """Return [the cheapest shown cell related to `cell`] (non-zero unless `zeros`; any cell if none is related)."""
    related = {c for r in relations if cell in r.cells for c in r.cells}
    allowed = [c for c in grid.counts if status[c] == SHOWN and (zeros or grid.counts[c] > 0)]
    options = [c for c in allowed if c in related] or allowed
    return [min(options, key=lambda c: (_cost(grid, c), c[1] == grid.total))] if options else []
