"""Every read of the database: functions taking an Engine/Connection and typed arguments, applying
the caller's Viewer, returning DataFrames / GeoDataFrames with documented columns."""
