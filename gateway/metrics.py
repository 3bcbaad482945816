"""Prometheus metrics shared by the routes and /metrics."""

from prometheus_client import Counter

WEBHOOKS = Counter("amip_webhooks_total", "Provider webhooks by route and result",
                   ["route", "result"])
