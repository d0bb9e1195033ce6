"""The edges that receive contact: SMTP, webhooks, and `serve` that runs them."""
