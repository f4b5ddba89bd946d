"""argon2id password hashing and the password policy."""
from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
GENERATED_LENGTH = 20
# Unambiguous to read aloud or copy: no quotes, backslash or spaces.
GENERATED_ALPHABET = string.ascii_letters + string.digits + "!#$%&*+-=?@^_~"
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# A precomputed hash so a login for an unknown user costs the same time as for a known one.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a new password, in words a person can act on (empty = acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"password must be at least {MIN_LENGTH} characters")
    classes = sum(
        (any(c.islower() for c in password), any(c.isupper() for c in password),
         any(c.isdigit() for c in password), any(not c.isalnum() for c in password))
    )
    if classes < 3:
        problems.append("password must mix at least three of: lower case, upper case, digits, symbols")
    if username and username.lower() in password.lower():
        problems.append("password must not contain the user name")
    return problems


def generate_password(username: str = "") -> str:
    """A password drawn entirely from `secrets` (about 124 bits). Drawing again until the policy is
    met keeps every character random (a fixed suffix to satisfy the policy would not be)."""
    while True:
        candidate = "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))
        if not password_problems(candidate, username):
            return candidate
