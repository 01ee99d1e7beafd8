"""Testing progress and cross-checks (issue 8): the residents' latest test, batch plans for a
testing round, volunteer-pass and arrival checks. No Dash here."""
