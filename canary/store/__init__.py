"""canary.store."""
