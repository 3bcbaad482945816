"""The item state machine (DESIGN invariant 6): statuses only move along these edges."""

from __future__ import annotations

from enum import StrEnum


class ItemStatus(StrEnum):
    RECEIVED = "received"  # durable, waiting for the intake job
    QUEUED = "queued"  # language known, routed: in a province (or the unrouted) queue
    CLAIMED = "claimed"
    TRIAGED = "triaged"
    ESCALATED = "escalated"
    DISCARDED = "discarded"
    KEYWORD = "keyword"  # a subscription keyword (STOP, JOIN…): handled, never triaged


ALLOWED: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.RECEIVED: frozenset({ItemStatus.QUEUED, ItemStatus.KEYWORD}),
    ItemStatus.QUEUED: frozenset({ItemStatus.CLAIMED, ItemStatus.TRIAGED, ItemStatus.ESCALATED,
                                  ItemStatus.DISCARDED}),
    ItemStatus.CLAIMED: frozenset({ItemStatus.QUEUED, ItemStatus.TRIAGED, ItemStatus.ESCALATED,
                                   ItemStatus.DISCARDED}),
    ItemStatus.ESCALATED: frozenset({ItemStatus.CLAIMED, ItemStatus.TRIAGED,
                                     ItemStatus.DISCARDED}),
    ItemStatus.TRIAGED: frozenset(),
    ItemStatus.DISCARDED: frozenset(),
    ItemStatus.KEYWORD: frozenset(),
}


class IllegalTransition(ValueError):
    pass


def check_transition(current: str, target: ItemStatus) -> None:
    if target not in ALLOWED[ItemStatus(current)]:
        raise IllegalTransition(f"item cannot go from {current} to {target}")
