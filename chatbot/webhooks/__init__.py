"""Inbound webhooks: signed by the sender, so exempt from CSRF, and failing closed on any doubt."""
