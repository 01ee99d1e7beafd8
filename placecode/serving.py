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
                               "accesslog": None, "errorlog": "-", "loglevel": "warning",
                               "post_fork": _fresh_connections}.items():
                self.cfg.set(key, value)

        def load(self):
            return app_factory()

    _App().run()


def _fresh_connections(_arbiter, _worker) -> None:
    """gunicorn's post_fork hook: a worker must not use the pooled connections it inherited from
    the arbiter (opened by init_db and the outbox worker before the fork). Two processes on one
    PostgreSQL connection break its protocol ("prepared statement _pg3_0 already exists", a 500);
    on one SQLite handle, its locking. Each pool forgets them without closing them (they are the
    arbiter's), and the worker opens its own."""
    import gc

    from sqlalchemy import Engine

    for engine in [o for o in gc.get_objects() if isinstance(o, Engine)]:
        engine.dispose(close=False)
