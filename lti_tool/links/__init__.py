"""Guest links: the rules (service) and the JSON API behind "Manage guest access" (views)."""
