"""A published count table as text, JSON or CSV: the same labels (``<5``, ``x``) everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gateway.geography.reference import provinces_by_pcode
from gateway.reports.counts import CountReport
from gateway.reports.export import csv_lines
from gateway.reports.suppression import HIDDEN_LABEL, Published, PublishedTable, small_label

TOTAL = "total"
NONE_LABELS = {"province": "unrouted", "hub": "unrouted", "language": "unknown",
               "topic": "untagged"}


def key_label(dim: str, value: str | None, *, names: bool = True) -> str:
    """How a dimension value reads to people (p-codes keep their English name beside them)."""
    if value is None:
        return NONE_LABELS.get(dim, "none")
    if dim == "province" and names:
        province = provinces_by_pcode().get(value)
        return f"{value} {province.name_en}" if province else value
    return value


def legend(pub: PublishedTable) -> str | None:
    if pub.threshold is None or not pub.any_withheld:
        return None
    return (f"{small_label(pub.threshold)}: fewer than {pub.threshold} items; "
            f"{HIDDEN_LABEL}: hidden so that totals cannot reveal a small count")


def header(pub: PublishedTable) -> list[str]:
    t = pub.table
    cols = [key_label(t.col_dim, c) for c in t.col_keys] if t.col_dim and t.row_keys else ["count"]
    return [*t.row_dims, *cols, *([TOTAL] if t.has_row_totals else [])]


def lines(pub: PublishedTable) -> list[list[str]]:
    """Header, one line per row key, then the totals line."""
    t = pub.table
    out = [header(pub)]
    for key, row in zip(t.row_keys, pub.grid, strict=False):
        out.append([key_label(d, v) for d, v in zip(t.row_dims, key, strict=True)]
                   + [p.label for p in row])
    if t.has_col_totals:
        out.append([TOTAL] + [""] * (len(t.row_dims) - 1) + [p.label for p in pub.grid[-1]])
    return out


def as_text(pub: PublishedTable, report: CountReport) -> str:
    rows = lines(pub)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    n_keys = len(pub.table.row_dims)
    text = []
    for r in rows:
        cells = [c.ljust(w) if i < n_keys else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        text.append("  ".join(cells).rstrip())
    title = (f"items received {report.date_from} to {report.date_to}"
             + (f", by {report.period.value}" if report.period else ""))
    note = legend(pub)
    return "\n".join([title, *text, *([note] if note else [])]) + "\n"


def _value(p: Published) -> int | str:
    return p.value if p.value is not None else p.label


def as_json(pub: PublishedTable, report: CountReport) -> dict[str, Any]:
    """Cells with every key named, then the row and column totals and the grand total."""
    t = pub.table
    cells = []
    for key, row in zip(t.row_keys, pub.cells, strict=True):
        for col, p in zip(t.col_keys, row, strict=True):
            entry: dict[str, Any] = dict(zip(t.row_dims, key, strict=True))
            if t.col_dim:
                entry[t.col_dim] = col
            entry["count"] = _value(p)
            cells.append(entry)
    out: dict[str, Any] = {
        "dimensions": list(report.dims), "from": report.date_from.isoformat(),
        "to": report.date_to.isoformat(), "period": report.period.value if report.period else None,
        "suppression": None if pub.threshold is None else {
            "threshold": pub.threshold, "small": small_label(pub.threshold),
            "hidden": HIDDEN_LABEL},
        "cells": cells,
    }
    if pub.row_totals is not None:
        out["row_totals"] = [dict(zip(t.row_dims, key, strict=True)) | {"count": _value(p)}
                             for key, p in zip(t.row_keys, pub.row_totals, strict=True)]
    if pub.col_totals is not None and t.col_dim:
        out["column_totals"] = [{t.col_dim: col, "count": _value(p)}
                                for col, p in zip(t.col_keys, pub.col_totals, strict=True)]
    out["total"] = _value(pub.grand_total)
    return out


def as_json_text(pub: PublishedTable, report: CountReport) -> str:
    return json.dumps(as_json(pub, report), ensure_ascii=False, indent=1) + "\n"


def as_csv(pub: PublishedTable) -> Iterator[bytes]:
    """The table as laid out on screen, UTF-8 with a BOM."""
    head, *body = lines(pub)
    return csv_lines(head, body)
