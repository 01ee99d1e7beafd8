"""ag-grid's getRowsRequest (infinite row model) as the values a query may use: a forged
request (startRow "abc", a sortModel that is not a list of {colId, sort}) is a ValueError,
which the callback guard answers with a 400."""

from __future__ import annotations

from dataclasses import dataclass

MAX_ROW = 10 ** 9
MAX_BLOCK = 1000


@dataclass(frozen=True)
class GridBlock:
    start: int
    end: int
    sort: list[dict]  # [{"colId": str, "sort": "asc" | "desc"}]


def _row(request: dict, key: str, default: int) -> int:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ROW:
        raise ValueError(f"{key} must be a whole number from 0 to {MAX_ROW:,}")
    return value


def grid_block(request: dict) -> GridBlock:
    """The rows [start, end) and sort order a grid asks for, checked."""
    if not isinstance(request, dict):
        raise ValueError("getRowsRequest must be an object")
    start = _row(request, "startRow", 0)
    end = min(max(start, _row(request, "endRow", start + 100)), start + MAX_BLOCK)
    sort = request.get("sortModel") or []
    if not isinstance(sort, list) or not all(
            isinstance(s, dict) and isinstance(s.get("colId"), str)
            and s.get("sort") in ("asc", "desc") for s in sort):
        raise ValueError("sortModel must be a list of {colId, sort: asc|desc}")
    return GridBlock(start, end, sort)
