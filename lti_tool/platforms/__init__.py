"""Platforms: registration (CLI and LTI Dynamic Registration), deep linking, and the admin view."""
