"""MFA against a real database (both backends): replay refused by the stored last step, recovery codes
single use, secrets encrypted at rest, the sign-in second step, enrolment refused once confirmed."""
from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from dashapp.extensions import db
from dashapp.services import mfa, sessions, users
from dashapp.services.errors import Conflict, ValidationError
from models import LoginEvent, MfaEnrolment, MfaRecoveryCode, utcnow
from tests.support.web import PASSWORD, csrf_from_login_page


def _enrolled(username: str = "ada"):
    user = users.create_user("test", username, PASSWORD, "admin")
    secret = mfa.begin_enrolment(user).secret
    then = utcnow() - timedelta(seconds=60)
    codes = mfa.confirm_enrolment(user, pyotp.TOTP(secret).at(then), at=then)
    return user, secret, codes


def test_replayed_and_older_codes_are_refused(server):
    user, secret, _ = _enrolled()
    totp, now = pyotp.TOTP(secret), utcnow()
    assert mfa.verify(user, totp.at(now), at=now) == "totp"
    with pytest.raises(Conflict, match="already used"):
        mfa.verify(user, totp.at(now), at=now)
    with pytest.raises(Conflict, match="already used"):  # an older step than the last accepted one
        mfa.verify(user, totp.at(now - timedelta(seconds=30)), at=now)
    later = now + timedelta(seconds=30)
    assert mfa.verify(user, totp.at(later), at=later) == "totp"
    assert db.session.get(MfaEnrolment, user.id).last_step == totp.timecode(later)


def test_recovery_codes_work_once_and_are_stored_hashed(server):
    user, secret, codes = _enrolled()
    assert len(codes) == 10 and len(set(codes)) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    stored = db.session.execute(sa.select(MfaRecoveryCode.code_hash)).scalars().all()
    assert len(stored) == 10 and not set(codes) & set(stored) and all(h.startswith("$argon2") for h in stored)
    row = db.session.get(MfaEnrolment, user.id)
    assert secret not in row.secret_encrypted  # Fernet, key derived from SECRET_KEY
    assert mfa.verify(user, codes[3].upper()) == "recovery"
    with pytest.raises(ValidationError, match="not valid"):
        mfa.verify(user, codes[3])
    assert mfa.remaining_recovery_codes(user) == 9


def test_enrolment_cannot_be_swapped_while_on_and_off_needs_a_code(server):
    user, secret, codes = _enrolled()
    with pytest.raises(Conflict, match="already set up"):
        mfa.begin_enrolment(user)
    with pytest.raises(ValidationError):
        mfa.disable(user.username, user, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    mfa.disable(user.username, user, codes[0])
    assert not mfa.is_enrolled(user) and mfa.remaining_recovery_codes(user) == 0


def test_sign_in_asks_for_the_code_as_a_second_step(server):
    user, secret, _ = _enrolled()
    client = server.test_client()
    token = csrf_from_login_page(client)
    step = client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
    assert step.status_code == 200 and "login-mfa-form" in step.get_data(as_text=True)
    assert client.get("/api/v1/openapi.json").status_code == 401  # the password alone did not sign in
    wrong = client.post("/login", data={"step": "mfa", "mfa_code": "12345x", "csrf_token": token})
    assert wrong.status_code == 401
    done = client.post("/login", data={"step": "mfa", "mfa_code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/api/v1/openapi.json").status_code == 200
    outcomes = [e.outcome for e in db.session.execute(sa.select(LoginEvent).order_by(LoginEvent.id)).scalars()]
    assert outcomes == ["mfa_required", "mfa_failure", "success"]
    (live,) = sessions.active(user.id)
    assert live.mfa_verified_at is not None  # signing in with the code counts as a fresh verification
