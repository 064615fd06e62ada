"""Webhooks that providers and councils register, and the transactional outbox that feeds them."""
