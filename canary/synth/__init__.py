"""canary.synth."""
