"""Foot traffic by industry for economic planners: distinct-person counts and suppression."""
