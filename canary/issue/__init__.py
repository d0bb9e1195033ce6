"""canary.issue."""
