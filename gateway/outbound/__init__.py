"""Outbound: SMS keywords (join/stop/help/language/province), subscriptions and bulletins."""
