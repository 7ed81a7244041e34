#!/usr/bin/env python3
"""Stand in for a unit's USB-Key: sign the portal's challenge with a PEM private key.

Development and testing only. Needs nothing but the `cryptography` package, so it can be copied
to any machine:

    python usbkey_sign.py --key unit.key.pem --challenge=NONCE [--out sig.b64]

(write --challenge=NONCE with "=": a challenge may start with "-").

Prints the base64 signature to paste into the registration page. RSA keys sign with PKCS#1 v1.5,
EC keys with ECDSA, both over SHA-256 of the UTF-8 challenge — what the portal verifies.
`manage.py ca_sign_challenge` does the same inside the project (employers.verification.testing).
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


def sign_challenge(key_pem: bytes, challenge: str) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    data = challenge.encode("utf-8")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError("only RSA and ECDSA keys can sign here")
    return base64.b64encode(signature).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="用PEM私钥对挑战值签名(模拟USB-Key,仅供测试)")
    parser.add_argument("--key", type=Path, required=True, help="单位私钥(PEM,未加密)")
    parser.add_argument(
        "--challenge", required=True, help="页面显示的挑战值;以“-”开头时写成 --challenge=挑战值"
    )
    parser.add_argument("--out", type=Path, help="把签名另存到此文件")
    args = parser.parse_args(argv)
    try:
        signature = sign_challenge(args.key.read_bytes(), args.challenge)
    except (OSError, TypeError, ValueError) as exc:
        print(f"签名失败:{exc}", file=sys.stderr)
        return 1
    if args.out is not None:
        args.out.write_text(signature + "\n", encoding="ascii")
    print(signature)
    return 0


if __name__ == "__main__":
    sys.exit(main())
