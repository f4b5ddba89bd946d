"""TOTP matching without a database: the accepted window is the current 30-second step and one either
side (clock drift), never two; what a code field accepts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyotp
import pytest

from dashapp.services import mfa
from dashapp.services.errors import ValidationError

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 12, 6, 6, 0, 15, tzinfo=timezone.utc)


def test_the_window_is_one_step_either_side():
    totp = pyotp.TOTP(SECRET)
    step = totp.timecode(AT)
    for offset in (-1, 0, 1):
        assert mfa._matching_step(SECRET, totp.generate_otp(step + offset), AT) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.generate_otp(step + offset)
        if code not in {totp.generate_otp(step + d) for d in (-1, 0, 1)}:  # a collision would be luck, not a window
            assert mfa._matching_step(SECRET, code, AT) is None


def test_a_code_from_ninety_seconds_ago_is_stale():
    totp = pyotp.TOTP(SECRET)
    old = totp.at(AT - timedelta(seconds=90))
    assert mfa._matching_step(SECRET, old, AT) is None or old == totp.at(AT)


@pytest.mark.parametrize("raw, cleaned", [(" 123 456 ", "123456"), ("ABCDE-FGHJK", "abcde-fghjk")])
def test_code_field_is_normalised(raw, cleaned):
    assert mfa._clean(raw) == cleaned


@pytest.mark.parametrize("raw", ["", None, 123456, "12345\x00", "x" * 17, "12;456"])
def test_bad_code_field_names_the_field(raw):
    with pytest.raises(ValidationError) as err:
        mfa._clean(raw)
    assert err.value.field == "mfa_code"


def test_non_digit_codes_never_match_totp():
    assert mfa._matching_step(SECRET, "abcdef", AT) is None
    assert mfa._matching_step(SECRET, "12345", AT) is None
