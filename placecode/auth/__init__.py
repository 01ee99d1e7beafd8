"""Users, roles, scopes, the audit log and the flask-login wiring."""
