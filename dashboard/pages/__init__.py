"""Dash Pages: one module per page, imported by Dash (never import them directly)."""
