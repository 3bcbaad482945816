"""What the reports page shows, in the user's language: labels, charts, highlight rows."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from datetime import datetime
from importlib import resources

from markupsafe import Markup

from gateway.geography.reference import load_hubs, provinces_by_pcode
from gateway.reports import charts
from gateway.reports.render import NONE_LABELS
from gateway.reports.service import Page, Trend, count_label
from gateway.reports.suppression import PublishedTable, small_label


@functools.cache
def _strings() -> dict[str, dict[str, str]]:
    raw = resources.files(__package__).joinpath("strings.toml").read_text("utf-8")
    return tomllib.loads(raw)


def text(lang: str, key: str) -> str:
    return _strings().get(lang, {}).get(key) or _strings()["en"].get(key, key)


def label(dim: str, value: str | None, lang: str) -> str:
    """A dimension value as people read it: province and hub names in the UI language."""
    if value is None:
        return NONE_LABELS.get(dim, "none")
    if dim == "province" and (p := provinces_by_pcode().get(value)):
        return f"{getattr(p, 'name_' + lang, p.name_en)} ({value})"
    if dim == "hub":
        hub = next((h for h in load_hubs() if h.code == value), None)
        return getattr(hub, "name_" + lang, hub.name_en) if hub else value
    return value


@dataclass(frozen=True)
class TrendRow:
    label: str
    earlier: str
    last: str


@dataclass(frozen=True)
class WaitRow:
    label: str
    waiting: str
    age_days: float
    item_ids: list[int]


@dataclass(frozen=True)
class PageView:
    table: PublishedTable
    row_labels: list[list[str]]
    col_labels: list[str]
    bars: Markup
    lines: Markup
    languages: list[TrendRow]
    provinces: list[TrendRow]
    waiting: list[WaitRow]
    legend: list[tuple[str, str]]


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _trend(t: Trend, dim: str, lang: str) -> TrendRow:
    return TrendRow(label(dim, t.key, lang), _pct(t.earlier_share), _pct(t.last_share))


def build(view: Page, *, lang: str, now: datetime, show_small: bool) -> PageView:
    table = view.main.table
    t = table.table
    threshold = None if show_small else table.threshold
    rows = [[label(d, v, lang) for d, v in zip(t.row_dims, key, strict=True)]
            for key in t.row_keys]
    cols = [label(t.col_dim, c, lang) for c in t.col_keys] if t.col_dim else []
    totals = table.row_totals or [row[0] for row in table.cells]
    bars = charts.bar_chart([" · ".join(r) or "total" for r in rows], totals,
                            title=text(lang, "chart_totals"), threshold=table.threshold)
    tl = view.timeline.table
    series = [(label(tl.table.row_dims[0], key[0], lang) if key else "total", row)
              for key, row in zip(tl.table.row_keys, tl.cells, strict=True)]
    lines = charts.line_chart([c or "" for c in tl.table.col_keys], series[:8],
                              title=text(lang, "chart_time"))
    h = view.highlights
    waiting = [WaitRow(label("province", w.province, lang), count_label(w.waiting, threshold),
                       round(w.age_hours(now) / 24, 1), w.oldest_item_ids if h.show_items else [])
               for w in h.waiting]
    legend = [] if table.threshold is None else [
        (small_label(table.threshold), text(lang, "legend_small")),
        ("x", text(lang, "legend_hidden"))]
    return PageView(table, rows, cols, bars, lines,
                    [_trend(x, "language", lang) for x in h.languages],
                    [_trend(x, "province", lang) for x in h.provinces],
                    waiting, legend)
