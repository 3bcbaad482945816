"""Small-cell suppression of a count table, with complementary (secondary) suppression.

A published table is a grid of counts with its row totals, column totals and grand total.
Every count in 1…threshold-1 (cells *and* totals) is shown as ``<threshold`` (primary
suppression). Totals are sums, so one hidden cell in a row could be recovered by subtraction,
and two small hidden cells can pin each other (a row ``<5 <5`` whose hidden part sums to 2 is
1 and 1). So a further cell is hidden in every row and column where an attacker who knows the
published totals, and that a ``<5`` is 1…4 and an ``x`` is at least 5, could narrow a small
count below its full range 1…4 (secondary suppression, shown as ``x``). Complements are
chosen so that, for every small count, some rectangle of withheld cells can shift it over
its whole range while every total stays the same (so the range is provably all an attacker
gets); tests/test_reports_suppression.py attacks the result.

Zero is published as 0: it describes no one, and "nobody from this group wrote" is the very
signal the secretariat needs to see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.reports.counts import CountReport

Key = tuple[str | None, ...]
Pos = tuple[int, int]
INF = float("inf")
HIDDEN_LABEL = "x"


class State(StrEnum):
    SHOWN = "shown"
    SMALL = "small"  # primary: a count below the threshold
    HIDDEN = "hidden"  # secondary: hidden so that totals cannot reveal a small count


@dataclass(frozen=True)
class Published:
    value: int | None  # None when withheld
    label: str
    state: State


@dataclass(frozen=True)
class CountTable:
    """Counts laid out as rows (all dimensions but the last) × columns (the last one)."""

    row_dims: tuple[str, ...]
    col_dim: str | None
    row_keys: list[Key]
    col_keys: list[str | None]
    cells: list[list[int]]

    @property
    def has_row_totals(self) -> bool:
        return len(self.col_keys) > 1

    @property
    def has_col_totals(self) -> bool:
        return len(self.row_keys) > 1

    def grid(self) -> list[list[int]]:
        """Cells with their margins: a last column of row totals, a last row of column totals."""
        if not self.cells:  # nothing counted: just the grand total, 0
            return [[0]]
        rows = [list(r) + ([sum(r)] if self.has_row_totals else []) for r in self.cells]
        if self.has_col_totals:
            rows.append([sum(col) for col in zip(*rows, strict=True)])
        return rows


@dataclass(frozen=True)
class PublishedTable:
    table: CountTable
    grid: list[list[Published]]  # same shape as table.grid()
    threshold: int | None  # None: unsuppressed

    @property
    def cells(self) -> list[list[Published]]:
        return [row[:len(self.table.col_keys)] for row in self.grid[:len(self.table.row_keys)]]

    @property
    def row_totals(self) -> list[Published] | None:
        if not self.table.has_row_totals:
            return None
        return [row[-1] for row in self.grid[:len(self.table.row_keys)]]

    @property
    def col_totals(self) -> list[Published] | None:
        if not self.table.has_col_totals:
            return None
        return self.grid[-1][:len(self.table.col_keys)]

    @property
    def grand_total(self) -> Published:
        return self.grid[-1][-1]

    @property
    def any_withheld(self) -> bool:
        return any(p.value is None for row in self.grid for p in row)


def cross_table(report: CountReport) -> CountTable:
    """Lay a report out as a grid; combinations absent from the database are zeros."""
    dims = report.dims
    split = len(dims) - 1 if len(dims) > 1 else len(dims)  # one dimension: rows, one column
    row_dims, col_dim = dims[:split], (dims[split] if split < len(dims) else None)
    values: dict[tuple[Key, str | None], int] = {}
    for r in report.rows:
        cell = (r.key[:split], r.key[split] if col_dim else None)
        values[cell] = values.get(cell, 0) + r.count
    # No rows at all is an empty table (its grand total 0), not one row of zeros.
    row_keys = _ordered({k for k, _ in values}) or ([] if row_dims else [()])
    col_keys = _ordered_single({c for _, c in values}) or [None]
    cells = [[values.get((rk, ck), 0) for ck in col_keys] for rk in row_keys]
    return CountTable(row_dims, col_dim, row_keys, col_keys, cells)


def suppress(table: CountTable, threshold: int = 5) -> PublishedTable:
    """Hide every count below ``threshold`` and whatever else would let totals reveal it."""
    grid = table.grid()
    small = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if 0 < v < threshold}
    hidden: set[Pos] = set()
    if table.has_row_totals and table.has_col_totals:
        withheld = set(small)  # small and hidden together, kept up to date for the search
        for pos in sorted(small):
            _protect_by_rectangle(pos, grid, small, withheld, threshold)
        hidden = withheld - small
    else:  # one equation (a list and its total): its interval bound is exact
        for line in _lines(table, grid):
            while not _protected(line, grid, small, hidden, threshold):
                extra = _complement(line, grid, small | hidden, threshold)
                if extra is None:
                    break  # nothing left to hide in this line: every other count is 0
                hidden.add(extra)
    return PublishedTable(table, [[_publish(grid[i][j], (i, j), small, hidden, threshold)
                                   for j in range(len(grid[i]))] for i in range(len(grid))],
                          threshold)


def unsuppressed(table: CountTable) -> PublishedTable:
    """Every count as it is (only for roles allowed to see small counts)."""
    return PublishedTable(table, [[Published(v, str(v), State.SHOWN) for v in row]
                                  for row in table.grid()], None)


def small_label(threshold: int) -> str:
    return f"<{threshold}"


def _publish(value: int, pos: Pos, small: set[Pos], hidden: set[Pos],
             threshold: int) -> Published:
    if pos in small:
        return Published(None, small_label(threshold), State.SMALL)
    if pos in hidden:
        return Published(None, HIDDEN_LABEL, State.HIDDEN)
    return Published(value, str(value), State.SHOWN)


# Two-way tables. With the margins' signs flipped, every full row and column of the grid sums
# to zero, so adding +k, -k, +k, -k around any rectangle of withheld cells gives another table
# with the same published totals. If such a rectangle lets a small count run over 1…t-1
# while its corners stay within what their labels say, no attacker can do better than that
# range: the alternative tables are real solutions (sound, whatever else is published here).

def _sign(pos: Pos, grid: list[list[int]]) -> int:
    last_row, last_col = len(grid) - 1, len(grid[0]) - 1
    return -1 if (pos[0] == last_row) != (pos[1] == last_col) else 1


def _k_range(p: Pos, corners: list[tuple[Pos, int]], grid: list[list[int]], small: set[Pos],
             threshold: int) -> tuple[float, float]:
    """The shifts k (applied to p) that keep every corner within its label's bounds."""
    k_lo, k_hi = -INF, INF
    sp = _sign(p, grid)
    for q, parity in corners:  # parity +1 on p's diagonal, -1 on the other two corners
        d = _sign(q, grid) * parity * sp
        lo, hi = _bounds(q, small, threshold)
        v = grid[q[0]][q[1]]
        a, b = (lo - v, hi - v) if d > 0 else (v - hi, v - lo)
        k_lo, k_hi = max(k_lo, a), min(k_hi, b)
    return k_lo, k_hi


def _protect_by_rectangle(p: Pos, grid: list[list[int]], small: set[Pos], hidden: set[Pos],
                          threshold: int, shortlist: int = 8) -> None:
    """Hide the cheapest rectangle of cells through ``p`` that lets it take every small value."""
    i, j = p
    v = grid[i][j]
    withheld = hidden  # the caller keeps every small count in ``hidden`` too (see suppress)

    def usable(q: Pos) -> bool:
        return q in withheld or grid[q[0]][q[1]] >= threshold

    def cost(q: Pos) -> float:
        if q in withheld:
            return 0
        total = q[0] == len(grid) - 1 or q[1] == len(grid[0]) - 1
        return grid[q[0]][q[1]] * (10 if total else 1)  # hide totals only when it must

    rows = sorted((r for r in range(len(grid)) if r != i and usable((r, j))),
                  key=lambda r: cost((r, j)))
    cols = sorted((c for c in range(len(grid[0])) if c != j and usable((i, c))),
                  key=lambda c: cost((i, c)))
    # (reach down, reach up, cost, cells): the cheapest full-range rectangle; failing that,
    # the one reaching lowest and the one reaching highest (each is a move on its own).
    options: list[tuple[float, float, float, list[Pos]]] = []
    # The cheapest partners first; a wider search only while nothing suffices (large tables:
    # the whole grid per small count would be quadratic).
    for width in (shortlist, 4 * shortlist):
        candidates_r, candidates_c = rows[:width], cols[:width]
        for r in candidates_r:
            for c in candidates_c:
                if not usable((r, c)):
                    continue
                corners = [((i, j), 1), ((r, c), 1), ((i, c), -1), ((r, j), -1)]
                k_lo, k_hi = _k_range(p, corners, grid, small, threshold)
                options.append((max(1, v + k_lo), min(threshold - 1, v + k_hi),
                                cost((r, c)) + cost((i, c)) + cost((r, j)),
                                [(r, c), (i, c), (r, j)]))
                if options[-1][2] == 0 and options[-1][0] <= 1 <= threshold - 1 <= options[-1][1]:
                    break  # already protected by cells withheld anyway: nothing to add
            else:
                continue
            break
        if width >= max(len(rows), len(cols)) or any(
                o[0] <= 1 and o[1] >= threshold - 1 for o in options):
            break
    full = [o for o in options if o[0] <= 1 and o[1] >= threshold - 1]
    if full:
        chosen = [min(full, key=lambda o: o[2])]
    elif options:
        chosen = [min(options, key=lambda o: (o[0], o[2])),
                  min(options, key=lambda o: (-o[1], o[2]))]
    else:  # no rectangle at all: hide the row and the column whole
        chosen = [(0, 0, 0, [q for q in [*((i, c) for c in range(len(grid[0]))),
                                          *((r, j) for r in range(len(grid)))]
                             if grid[q[0]][q[1]]])]
    for option in chosen:
        hidden.update(q for q in option[3] if q not in small)


# A line is one published equation: its members sum to its total (members, total position).
Line = tuple[list[Pos], Pos]


def _lines(table: CountTable, grid: list[list[int]]) -> list[Line]:
    n_rows, n_cols = len(grid), len(grid[0])
    lines: list[Line] = []
    if table.has_row_totals:
        lines += [([(i, j) for j in range(n_cols - 1)], (i, n_cols - 1)) for i in range(n_rows)]
    if table.has_col_totals:
        lines += [([(i, j) for i in range(n_rows - 1)], (n_rows - 1, j)) for j in range(n_cols)]
    return lines


def _bounds(pos: Pos, small: set[Pos], threshold: int) -> tuple[float, float]:
    """What an attacker knows of a withheld count from its label alone."""
    return (1, threshold - 1) if pos in small else (threshold, INF)


def _protected(line: Line, grid: list[list[int]], small: set[Pos], hidden: set[Pos],
               threshold: int) -> bool:
    """No small count in the line can be narrowed below 1…threshold-1 from this line's sum;
    and no line holds exactly one withheld count (it would simply be the difference)."""
    members, total = line
    withheld = [p for p in [*members, total] if p in small or p in hidden]
    if not withheld:
        return True
    if len(withheld) == 1:
        return False
    for target in withheld:
        if target not in small:
            continue
        lo, hi = _range_from_line(target, line, grid, small, hidden, threshold)
        if lo > 1 or hi < threshold - 1:
            return False
    return True


def _range_from_line(target: Pos, line: Line, grid: list[list[int]], small: set[Pos],
                     hidden: set[Pos], threshold: int) -> tuple[float, float]:
    """Interval of ``target`` implied by ``members − total = 0`` and the labels' bounds."""
    members, total = line
    sign = {p: 1 for p in members} | {total: -1}
    known = sum(sign[p] * grid[p[0]][p[1]] for p in sign if p not in small | hidden)
    lo_rest = hi_rest = 0.0  # bounds of Σ sign·x over the other withheld members
    for p in sign:
        if p == target or p not in small | hidden:
            continue
        lo, hi = _bounds(p, small, threshold)
        lo_rest += sign[p] * (lo if sign[p] > 0 else hi)
        hi_rest += sign[p] * (hi if sign[p] > 0 else lo)
    # sign[target]·x = −known − rest
    a, b = -known - hi_rest, -known - lo_rest
    if sign[target] < 0:
        a, b = -b, -a
    t_lo, t_hi = _bounds(target, small, threshold)
    return max(a, t_lo), min(b, t_hi)


def _complement(line: Line, grid: list[list[int]], withheld: set[Pos],
                threshold: int) -> Pos | None:
    """The cell to hide next: an inner cell of at least 2×threshold−1 (smallest first, so
    as little as possible is lost), else the largest one left, totals last."""
    members, total = line
    candidates = [p for p in members if p not in withheld and grid[p[0]][p[1]] >= threshold]
    if not candidates:
        candidates = [total] if total not in withheld and grid[total[0]][total[1]] else []
    if not candidates:
        return None
    roomy = [p for p in candidates if grid[p[0]][p[1]] >= 2 * threshold - 1]
    if roomy:
        return min(roomy, key=lambda p: (grid[p[0]][p[1]], p))
    return max(candidates, key=lambda p: (grid[p[0]][p[1]], p))


def _sort_key(value: str | None) -> tuple[int, str]:
    return (1, "") if value is None else (0, value)


def _ordered(keys: Iterable[Key]) -> list[Key]:
    return sorted(keys, key=lambda k: tuple(_sort_key(v) for v in k))


def _ordered_single(keys: Iterable[str | None]) -> list[str | None]:
    return sorted(keys, key=_sort_key)
