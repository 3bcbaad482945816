"""Console users, roles, sessions, API tokens and the one permission module."""
