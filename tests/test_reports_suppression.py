"""Small counts are published as ``<5`` and no total gives them away (issue 6).

Each test attacks the published table the way a reader could: subtraction along rows and
columns, and an exact integer solution of all the table's sums together
(tests/reports_attack.py).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from gateway.db import unit_of_work
from gateway.reports.counts import counts
from gateway.reports.suppression import CountTable, State, cross_table, suppress, unsuppressed
from tests import reports_data
from tests.reports_attack import feasible_values

Pos = tuple[int, int]


def _table(cells: list[list[int]]) -> CountTable:
    return CountTable(("province",), "language", [(f"AF{i:02d}",) for i in range(len(cells))],
                      [f"l{j}" for j in range(len(cells[0]))], cells)


def _small_cells(pub: object) -> list[Pos]:
    return [(i, j) for i, row in enumerate(pub.grid)  # type: ignore[attr-defined]
            for j, p in enumerate(row) if p.state is State.SMALL]


def test_three_items_in_a_language_show_as_less_than_five_and_no_total_reveals_them(
        base_env: dict[str, str]) -> None:
    """Herat has 3 Turkmen messages among hundreds; the 3 never comes back out."""
    rng = random.Random(3)
    start = datetime(2026, 2, 2, tzinfo=UTC)
    mix = {"AF32": {"fa": 140, "ps": 60, "uz": 12, "tk": 3, "en": 9},
           "AF27": {"fa": 30, "ps": 170, "uz": 7, "tk": 11, "en": 6},
           "AF21": {"fa": 90, "ps": 25, "uz": 48, "tk": 21, "en": 15},
           "AF01": {"fa": 260, "ps": 120, "uz": 18, "tk": 9, "en": 40}}
    with unit_of_work() as session:
        contacts = reports_data.add_contacts(session, 50)
        reports_data.add_items(session, [
            reports_data.item_row(rng.choice(contacts), province=province, language=language,
                                  received_at=start + timedelta(minutes=rng.randrange(40000)))
            for province, langs in mix.items() for language, n in langs.items()
            for _ in range(n)])
        report = counts(session, by=["province", "language"], date_from=date(2026, 2, 1),
                        date_to=date(2026, 3, 31))
    pub = suppress(cross_table(report))
    table = pub.table
    herat, tk = table.row_keys.index(("AF32",)), table.col_keys.index("tk")
    assert pub.grid[herat][tk].label == "<5" and pub.grid[herat][tk].value is None
    # Subtraction along Herat's row or the Turkmen column leaves two or more unknowns…
    assert sum(p.value is None for p in pub.grid[herat]) >= 2
    assert sum(row[tk].value is None for row in pub.grid) >= 2
    # …and solving every published sum at once still allows 1, 2, 3 or 4.
    assert feasible_values(pub, (herat, tk)) == {1, 2, 3, 4}
    # What is shown is true, and the totals still add up to what the database holds.
    truth = table.grid()
    assert all(p.value == truth[i][j] for i, row in enumerate(pub.grid)
               for j, p in enumerate(row) if p.value is not None)
    assert pub.grand_total.value == 1094


def test_random_tables_never_give_a_small_count_away() -> None:
    """Dense tables full of small counts: every ``<5`` keeps at least two possible values,
    and almost always the whole range 1…4."""
    rng = random.Random(11)
    checked = full = 0
    for _ in range(150):
        n_cols = rng.randint(1, 5)
        cells = [[rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 20, 40]) for _ in range(n_cols)]
                 for _ in range(rng.randint(1, 5))]
        pub = suppress(_table(cells))
        for pos in _small_cells(pub):
            values = feasible_values(pub, pos)
            truth = pub.table.grid()[pos[0]][pos[1]]
            assert truth in values and len(values) >= 2, (cells, pos, values)
            checked += 1
            full += values == {1, 2, 3, 4}
    assert checked > 300 and full / checked > 0.85


def test_a_list_with_one_small_count_hides_a_second_one() -> None:
    table = CountTable(("language",), None, [("fa",), ("ps",), ("tk",), ("uz",)], [None],
                       [[120], [80], [2], [0]])
    pub = suppress(table)
    labels = [row[0].label for row in pub.grid]
    assert labels[2] == "<5" and labels[3] == "0" and labels[4] == "202"
    assert labels.count("x") == 1  # the total stays; one more count is hidden
    assert feasible_values(pub, (2, 0)) == {1, 2, 3, 4}


def test_zero_is_published_and_threshold_is_configurable() -> None:
    pub = suppress(_table([[0, 30, 7], [12, 0, 25], [40, 22, 0]]), threshold=10)
    assert [p.label for p in pub.grid[0]][:3] == ["0", "30", "<10"]
    for pos in _small_cells(pub):
        assert len(feasible_values(pub, pos)) >= 2
    assert suppress(_table([[0, 30], [12, 40]])).any_withheld is False
    open_table = unsuppressed(_table([[1, 30], [12, 40]]))
    assert open_table.grid[0][0].label == "1" and open_table.threshold is None


def test_a_small_total_is_suppressed_too() -> None:
    pub = suppress(_table([[1, 2, 0], [30, 40, 50]]))
    assert pub.row_totals is not None and pub.row_totals[0].label == "<5"
    for pos in _small_cells(pub):
        assert len(feasible_values(pub, pos)) >= 2
