"""Users and their roles. What a role may do lives in dashapp.security.permissions, not here."""
import sqlalchemy as sa
from flask_login import UserMixin

from dashapp.extensions import db
from models.base import UTCDateTime, utcnow


class Role(db.Model):
    __tablename__ = "roles"

    name = sa.Column(sa.String(32), primary_key=True)
    description = sa.Column(sa.String(200), nullable=False, default="")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    display_name = sa.Column(sa.String(120), nullable=False, default="")
    password_hash = sa.Column(sa.String(255), nullable=False)
    role_name = sa.Column(sa.String(32), sa.ForeignKey("roles.name"), nullable=False)
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    failed_logins = sa.Column(sa.Integer, nullable=False, default=0)
    locked_until = sa.Column(UTCDateTime, nullable=True)
    theme = sa.Column(sa.String(8), nullable=False, default="light")
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = sa.Column(UTCDateTime, nullable=True)
    password_changed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    # Part of every session's identity (see get_id): bumping it ends all sessions of this user at once.
    session_epoch = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")

    __table_args__ = (sa.CheckConstraint("theme in ('light', 'dark')", name="theme"),)

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        """What flask-login keeps in the session: "<id>.<epoch>", checked again by the user loader."""
        return f"{self.id}.{self.session_epoch or 0}"

    @property
    def role(self) -> str:
        return self.role_name

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role_name})>"
