"""Presentation catalogues shared by grids and exports (no Dash, no database)."""
