"""The coordinator console: server-rendered triage pages and the services behind them."""
