"""Which application source a benchmark ran: a short hash of the .py files it can import, and the
time of the newest one. The tree changes while benchmarks run (a colleague edits it), and a git
commit would not show uncommitted edits, so each recorded row carries this stamp."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("placecode", "queries", "components", "pages", "app.py")


def source_stamp() -> str:
    files = sorted(p for part in PARTS for p in
                   ([ROOT / part] if part.endswith(".py") else (ROOT / part).rglob("*.py"))
                   if p.is_file())
    digest = hashlib.sha1()
    for p in files:
        digest.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes())
    newest = max(p.stat().st_mtime for p in files)
    return f"{digest.hexdigest()[:8]} ({datetime.fromtimestamp(newest):%H:%M})"
