"""RFC 7616 Digest, server side: the checks a device's answer must pass (MD5, qop=auth; RFC 2069 without qop)."""

from __future__ import annotations

import hashlib

from checkpoint.core.digest import DigestVerifier, authorization_header, ha1, parse_params

REALM = "checkpoint-viid"
STORED = {"cam01": ha1("cam01", REALM, "right-password")}


def verifier(ttl: float = 300.0) -> DigestVerifier:
    return DigestVerifier(REALM, b"k" * 32, ttl)


def test_the_rfc_7616_md5_example_response() -> None:
    """RFC 7616 section 3.9.1's MD5 example: the same response from the same inputs."""
    params = {"nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "nc": "00000001",
              "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "qop": "auth"}
    from checkpoint.core.digest import expected_response

    digest = expected_response(ha1("Mufasa", "http-auth@example.org", "Circle of Life"), "GET", "/dir/index.html",
                               params)
    assert digest == "8ca523f5e9506fed4657c9700eebdbec"


def test_a_right_answer_holds_and_its_replay_does_not() -> None:
    check = verifier()
    header = authorization_header("cam01", "right-password", "POST", "/VIID/System/Register", check.challenge())
    assert check.check(header, "POST", STORED.get).failure is None
    assert "replay" in (check.check(header, "POST", STORED.get).failure or "")


def test_wrong_password_user_realm_method_and_forged_nonce_fail() -> None:
    check = verifier()
    challenge = check.challenge()
    assert "wrong password" in (check.check(authorization_header("cam01", "nope", "POST", "/x", challenge), "POST",
                                            STORED.get).failure or "")
    assert "unknown username" in (check.check(authorization_header("cam02", "right-password", "POST", "/x",
                                                                   challenge), "POST", STORED.get).failure or "")
    other_realm = challenge.replace(REALM, "elsewhere")
    assert "realm" in (check.check(authorization_header("cam01", "right-password", "POST", "/x", other_realm),
                                   "POST", STORED.get).failure or "")
    header = authorization_header("cam01", "right-password", "POST", "/x", challenge)
    assert "wrong password" in (check.check(header, "GET", STORED.get).failure or "")  # signed for POST
    forged = challenge.replace(parse_params(challenge[7:])["nonce"], "bm90LW91cnM6MTox")
    assert "not issued" in (check.check(authorization_header("cam01", "right-password", "POST", "/x", forged),
                                        "POST", STORED.get).failure or "")
    assert check.check(None, "POST", STORED.get).failure == "no Digest credentials"


def test_an_expired_nonce_is_stale_and_the_rfc_2069_form_is_read() -> None:
    check = verifier()
    old = f'Digest realm="{REALM}", nonce="{check.new_nonce(now=0)}", algorithm=MD5'  # 1970: long expired
    result = check.check(authorization_header("cam01", "right-password", "POST", "/x", old), "POST", STORED.get)
    assert result.stale and result.failure == "the nonce has expired"
    nonce = check.new_nonce()
    ha2 = hashlib.md5(b"POST:/x", usedforsecurity=False).hexdigest()
    response = hashlib.md5(f"{STORED['cam01']}:{nonce}:{ha2}".encode(), usedforsecurity=False).hexdigest()
    legacy = f'Digest username="cam01", realm="{REALM}", nonce="{nonce}", uri="/x", response="{response}"'
    assert check.check(legacy, "POST", STORED.get).failure is None
