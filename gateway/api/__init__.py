"""The JSON API under /api/: the console's services behind bearer tokens."""
