"""Login, the permission matrix and the guards that ask it (pages, Dash callbacks, REST endpoints)."""
from dashapp.security.permissions import MATRIX, ROLES, Perm, has_permission

__all__ = ["MATRIX", "ROLES", "Perm", "has_permission"]
