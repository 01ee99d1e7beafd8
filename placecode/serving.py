"""Serving the app: Flask's threaded server for one process, gunicorn for several.

Python runs one thread at a time per process, so one process answers at most ~300 single-scan
requests a second here (bench/RESULTS.md); `--workers N` forks N gunicorn processes (threads in
each) to use every core. The outbox worker runs once, in the parent, never per worker.
"""

from __future__ import annotations

from collections.abc import Callable


def serve_gunicorn(app_factory: Callable, host: str, port: int, workers: int,
                   threads: int = 4) -> None:
    """Run `app_factory()` (a WSGI app) under gunicorn with `workers` processes."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                               "worker_class": "gthread", "keepalive": 30, "timeout": 60,
                               "accesslog": None, "errorlog": "-", "loglevel": "warning"}.items():
                self.cfg.set(key, value)

        def load(self):
            return app_factory()

    _App().run()
