"""canary.ops."""
