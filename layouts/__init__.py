"""Page layouts: pure functions that return components. No database access, no callbacks."""
