"""An independent client checks a virtual FIDO2 key: Yubico's python-fido2 (pinned in
scripts/deps) opens the virtual hidraw node through the same preload rootkey uses and runs
getInfo, clientPIN (both PIN/UV auth protocols), makeCredential, getAssertion (with and
without user presence), a wrong PIN, a PIN change and a reset.

Usage: fido2_check.py NODE_PATH EVIDENCE_OUT
Writes the makeCredential result as rootkey attestation evidence (src/webauthn/evidence.rs) to
EVIDENCE_OUT, so `rootkey attest verify --roots DIR` can check what python-fido2 obtained.
Prints one line per check to stderr; exits non-zero on the first failure.
"""

import base64
import hashlib
import json
import os
import sys

from fido2.attestation import PackedAttestation
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.hid import open_device
from fido2.webauthn import AttestationObject

RP_ID = "rootkey.custody"
ORIGIN = "rootkey:custody"
PERMS = ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION
FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def client_data(kind, challenge):
    return json.dumps(
        {"type": kind, "challenge": b64url(challenge), "origin": ORIGIN, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()


def ok(what):
    print(f"ok: {what}", file=sys.stderr)


def expect_error(code, fn):
    try:
        fn()
    except CtapError as e:
        assert e.code == code, f"expected {code!r}, got {e.code!r}"
        return
    raise AssertionError(f"expected CTAP error {code!r}, got success")


def main(path, out):
    dev = open_device(path)
    ok(f"opened {path} (CTAPHID version {dev.version}, capabilities {dev.capabilities:#x})")
    # CTAPHID PING through continuation packets.
    payload = os.urandom(300)
    assert dev.call(0x01, payload) == payload
    ok("CTAPHID PING of 300 bytes echoed")

    ctap = Ctap2(dev)
    info = ctap.info
    assert "FIDO_2_1" in info.versions, info.versions
    assert info.options.get("clientPin") is False, info.options
    assert info.pin_uv_protocols == [2, 1], info.pin_uv_protocols
    aaguid = info.aaguid
    ok(f"getInfo: versions {info.versions}, aaguid {aaguid}, options {dict(info.options)}")

    pin2 = ClientPin(ctap, PinProtocolV2())
    pin2.set_pin("123456")
    assert ctap.get_info().options["clientPin"] is True
    assert pin2.get_pin_retries()[0] == 8
    ok("setPIN (protocol 2); getInfo shows clientPin, 8 retries")

    # makeCredential with a PIN token bound to the RP (getPinUvAuthTokenUsingPinWithPermissions).
    challenge = os.urandom(32)
    cdj = client_data("webauthn.create", challenge)
    cdh = hashlib.sha256(cdj).digest()
    token = pin2.get_pin_token("123456", PERMS, RP_ID)
    expect_error(
        CtapError.ERR.PUAT_REQUIRED,
        lambda: ctap.make_credential(
            cdh, {"id": RP_ID}, {"id": b"u", "name": "u"}, [{"type": "public-key", "alg": -7}]
        ),
    )
    ok("makeCredential without a token on a key with a PIN: PUAT_REQUIRED")
    att = ctap.make_credential(
        cdh,
        {"id": RP_ID, "name": RP_ID},
        {"id": b"python-fido2", "name": "python-fido2"},
        [{"type": "public-key", "alg": -7}],
        pin_uv_param=pin2.protocol.authenticate(token, cdh),
        pin_uv_protocol=pin2.protocol.VERSION,
    )
    assert att.fmt == "packed", att.fmt
    flags = att.auth_data.flags
    assert flags & FLAG_UP and flags & FLAG_UV and flags & FLAG_AT, flags
    assert att.auth_data.rp_id_hash == hashlib.sha256(RP_ID.encode()).digest()
    cred = att.auth_data.credential_data
    assert bytes(cred.aaguid) == bytes(aaguid)
    PackedAttestation().verify(att.att_stmt, att.auth_data, cdh)
    ok("makeCredential: packed attestation, UP|UV|AT, signature checked by python-fido2")

    obj = AttestationObject.create(att.fmt, att.auth_data, att.att_stmt)
    evidence = {
        "attestationObject_b64url": b64url(bytes(obj)),
        "clientDataJSON_b64url": b64url(cdj),
        "rp_id": RP_ID,
        "origin": ORIGIN,
        "challenge_b64url": b64url(challenge),
        "fmt": att.fmt,
        "aaguid": str(aaguid),
    }
    with open(out, "w") as f:
        json.dump(evidence, f, indent=2)

    # getAssertion with an allow list and a token; then a silent probe (up=false).
    allow = [{"type": "public-key", "id": cred.credential_id}]
    cdh2 = hashlib.sha256(client_data("webauthn.get", os.urandom(32))).digest()
    token = pin2.get_pin_token("123456", ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    a = ctap.get_assertion(
        RP_ID,
        cdh2,
        allow,
        pin_uv_param=pin2.protocol.authenticate(token, cdh2),
        pin_uv_protocol=pin2.protocol.VERSION,
    )
    a.verify(cdh2, cred.public_key)
    assert a.credential["id"] == cred.credential_id
    assert a.auth_data.flags & (FLAG_UP | FLAG_UV) == FLAG_UP | FLAG_UV
    assert a.auth_data.counter > att.auth_data.counter
    ok(f"getAssertion with PIN: UP|UV, counter {a.auth_data.counter}, signature verified")
    probe = ctap.get_assertion(RP_ID, cdh2, allow, options={"up": False})
    probe.verify(cdh2, cred.public_key)
    assert probe.auth_data.flags & (FLAG_UP | FLAG_UV) == 0, probe.auth_data.flags
    ok("getAssertion up=false: a silent probe, neither UP nor UV")
    expect_error(
        CtapError.ERR.NO_CREDENTIALS,
        lambda: ctap.get_assertion(
            RP_ID, cdh2, [{"type": "public-key", "id": os.urandom(32)}], options={"up": False}
        ),
    )
    expect_error(
        CtapError.ERR.NO_CREDENTIALS,
        lambda: ctap.get_assertion("other.example", cdh2, allow, options={"up": False}),
    )
    ok("unknown credential or other RP: NO_CREDENTIALS")
    expect_error(
        CtapError.ERR.PIN_AUTH_INVALID,
        lambda: ctap.get_assertion(
            RP_ID,
            cdh2,
            allow,
            pin_uv_param=pin2.protocol.authenticate(os.urandom(32), cdh2),
            pin_uv_protocol=2,
        ),
    )
    ok("a pinUvAuthParam from a wrong token: PIN_AUTH_INVALID")

    # Protocol one works too.
    pin1 = ClientPin(ctap, PinProtocolV1())
    token1 = pin1.get_pin_token("123456", ClientPin.PERMISSION.GET_ASSERTION, RP_ID)
    a1 = ctap.get_assertion(
        RP_ID,
        cdh2,
        allow,
        pin_uv_param=pin1.protocol.authenticate(token1, cdh2),
        pin_uv_protocol=1,
    )
    a1.verify(cdh2, cred.public_key)
    assert a1.auth_data.flags & FLAG_UV
    ok("PIN/UV auth protocol 1: token and assertion")

    # A wrong PIN costs one retry; the right one restores them.
    expect_error(CtapError.ERR.PIN_INVALID, lambda: pin2.get_pin_token("000000", PERMS, RP_ID))
    assert pin2.get_pin_retries()[0] == 7
    pin2.get_pin_token("123456", PERMS, RP_ID)
    assert pin2.get_pin_retries()[0] == 8
    ok("wrong PIN: PIN_INVALID, 7 retries; right PIN: 8 again")

    pin2.change_pin("123456", "654321")
    expect_error(CtapError.ERR.PIN_INVALID, lambda: pin2.get_pin_token("123456", PERMS, RP_ID))
    pin2.get_pin_token("654321", PERMS, RP_ID)
    ok("changePIN; old PIN refused, new accepted")

    ctap.reset()
    assert ctap.get_info().options["clientPin"] is False
    expect_error(
        CtapError.ERR.NO_CREDENTIALS,
        lambda: ctap.get_assertion(RP_ID, cdh2, allow, options={"up": False}),
    )
    ok("reset: PIN and credentials gone")
    dev.close()
    print("fido2_check: all checks passed", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
