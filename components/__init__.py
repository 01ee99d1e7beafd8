"""Pure builders: data in, Dash components / plotly figures out. No app, no I/O, no globals."""
