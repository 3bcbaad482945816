"""Reports for the negotiating table: counts, small-cell suppression, trends and exports."""
