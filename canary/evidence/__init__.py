"""canary.evidence."""
