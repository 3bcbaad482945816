"""An attacker for suppressed tables: what can published totals reveal about hidden counts?

Knows every shown count and total, that a ``<t`` is 1…t-1 and that an ``x`` is at least t,
and solves the table's sum equations exactly over the integers (bounded backtracking with
interval propagation) — stronger than subtracting one row at a time.
"""

from __future__ import annotations

from gateway.reports.suppression import PublishedTable, State

Pos = tuple[int, int]


def equations(pub: PublishedTable) -> list[tuple[list[Pos], Pos]]:
    grid = pub.grid
    n_rows, n_cols = len(grid), len(grid[0])
    eqs: list[tuple[list[Pos], Pos]] = []
    if pub.table.has_row_totals:
        eqs += [([(i, j) for j in range(n_cols - 1)], (i, n_cols - 1)) for i in range(n_rows)]
    if pub.table.has_col_totals:
        eqs += [([(i, j) for i in range(n_rows - 1)], (n_rows - 1, j)) for j in range(n_cols)]
    return eqs


def feasible_values(pub: PublishedTable, target: Pos, cap: int = 10**9) -> set[int]:
    """Every value the hidden count at ``target`` can take given everything published."""
    t = pub.threshold or 0
    domains: dict[Pos, tuple[int, int]] = {}
    for i, row in enumerate(pub.grid):
        for j, p in enumerate(row):
            if p.state is State.SMALL:
                domains[(i, j)] = (1, t - 1)
            elif p.state is State.HIDDEN:
                domains[(i, j)] = (t, cap)
    eqs = equations(pub)
    lo, hi = domains[target]
    return {v for v in range(lo, hi + 1)
            if _solvable(pub, eqs, dict(domains) | {target: (v, v)})}


def _propagate(pub: PublishedTable, eqs: list[tuple[list[Pos], Pos]],
               dom: dict[Pos, tuple[int, int]]) -> bool:
    changed = True
    while changed:
        changed = False
        for members, total in eqs:
            terms = [(p, 1) for p in members] + [(total, -1)]
            const = sum(s * (pub.grid[p[0]][p[1]].value or 0) for p, s in terms if p not in dom)
            unknown = [(p, s) for p, s in terms if p in dom]
            for p, s in unknown:
                rest_lo = sum(s2 * (dom[q][0] if s2 > 0 else dom[q][1])
                              for q, s2 in unknown if q != p)
                rest_hi = sum(s2 * (dom[q][1] if s2 > 0 else dom[q][0])
                              for q, s2 in unknown if q != p)
                a, b = -const - rest_hi, -const - rest_lo  # s·x in [a, b]
                if s < 0:
                    a, b = -b, -a
                lo, hi = max(dom[p][0], a), min(dom[p][1], b)
                if lo > hi:
                    return False
                if (lo, hi) != dom[p]:
                    dom[p] = (lo, hi)
                    changed = True
            if not unknown and const != 0:
                return False
    return True


def _solvable(pub: PublishedTable, eqs: list[tuple[list[Pos], Pos]],
              dom: dict[Pos, tuple[int, int]]) -> bool:
    if not _propagate(pub, eqs, dom):
        return False
    open_vars = [p for p, (lo, hi) in dom.items() if lo < hi]
    if not open_vars:
        return True
    p = min(open_vars, key=lambda q: dom[q][1] - dom[q][0])
    lo, hi = dom[p]
    mid = (lo + hi) // 2  # bisect: hidden counts can be large
    return (_solvable(pub, eqs, dict(dom) | {p: (lo, mid)})
            or _solvable(pub, eqs, dict(dom) | {p: (mid + 1, hi)}))
