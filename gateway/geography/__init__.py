"""Afghan province reference data and routing of intake items to provinces and hubs."""
