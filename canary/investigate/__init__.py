"""canary.investigate."""
