"""User accounts: creation and password checks (argon2id via argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from engine import audit
from engine.errors import N_, DuplicateError, InvalidInputError
from engine.models import Role, User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8
# Verifying against a real hash for unknown user names keeps their timing alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters (the test suite uses argon2's cheapest profile for speed)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, username: str, display_name: str, role: Role, password: str,
                actor: str) -> User:
    username = username.strip()
    if not username or len(username) > 80 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise InvalidInputError(N_("user name must be 1–80 letters, digits, '.', '-' or '_'"), "username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(N_("password must have at least %(n)s characters"), "password", n=MIN_PASSWORD_LENGTH)
    if session.exec(select(User).where(User.username == username)).first():
        raise DuplicateError(N_("user name '%(name)s' is taken"), "username", name=username)
    user = User(username=username, display_name=display_name.strip() or username, role=role,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.created", "user", user.id, {"username": username, "role": role})
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user
