"""Rooms: one per placement, their media page and (later) guest-link management."""
