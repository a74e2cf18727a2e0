"""Guests: the public, unauthenticated routes that people with a guest link use, and their rules."""
