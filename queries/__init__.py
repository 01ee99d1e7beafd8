"""Every read of the database: functions taking an Engine/Connection and typed arguments, applying
the caller's Scope, returning DataFrames / GeoDataFrames with documented columns."""
