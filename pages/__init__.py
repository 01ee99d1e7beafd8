"""Dash pages: one package per page (page.py registers it, ids.py, callbacks.py). No SQL here."""
