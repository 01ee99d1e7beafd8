"""dash-ag-grid in the house style: dark, large type, CJK font, no external theme files."""

from __future__ import annotations

import dash_ag_grid as dag

DARK_THEME = {"function": (
    "themeQuartz.withParams({backgroundColor: '#131a26', foregroundColor: '#f2f5fa', "
    "headerBackgroundColor: '#0b0f17', headerTextColor: '#9fb0c8', borderColor: '#243044', "
    "oddRowBackgroundColor: '#161e2c', fontSize: 16, headerFontSize: 15, "
    "fontFamily: \"'Noto Sans SC', 'Noto Sans CJK SC', sans-serif\", accentColor: '#4dabf7'})"
)}

# AG Grid's own words in the reader's language (assets/shell.js: the language on <html>)
LOCALE_TEXT = {"function": "placecodeGridText(params)"}


def build_grid(grid_id: str, height: str = "60vh", infinite: bool = False,
               **options) -> dag.AgGrid:
    """An empty grid; callbacks fill rowData and columnDefs. `infinite`: rows come in blocks
    from a getRowsRequest -> getRowsResponse callback (lists too long for the browser)."""
    rows = {"rowModelType": "infinite"} if infinite else {"rowData": []}
    return dag.AgGrid(
        id=grid_id, columnDefs=[], **rows,
        defaultColDef={"sortable": True, "resizable": True, "filter": not infinite},
        dashGridOptions={"theme": DARK_THEME, "animateRows": False,
                         "getLocaleText": LOCALE_TEXT} | options,
        style={"height": height}, className="pc-grid",
    )
