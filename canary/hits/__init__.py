"""Hits: recording contact durably, attributing it to copies, opening incidents."""
