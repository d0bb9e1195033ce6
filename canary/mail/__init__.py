"""canary.mail."""
