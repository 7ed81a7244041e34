#!/usr/bin/env python3
"""Stand in for a unit's USB-Key: sign the portal's challenge with a PEM private key.

Development and testing only. Needs nothing but the `cryptography` package (and, for SM2 keys, the
`openssl` 3 command), so it can be copied to any machine:

    python usbkey_sign.py --key unit.key.pem --challenge=NONCE [--out sig.b64]

(write --challenge=NONCE with "=": a challenge may start with "-").

Prints the base64 signature to paste into the registration page. RSA keys sign with PKCS#1 v1.5,
EC keys with ECDSA, both over SHA-256 of the UTF-8 challenge; SM2 keys (国密) sign over SM3 with the
default signer ID 1234567812345678 (GM/T 0009) — what the portal verifies.
`manage.py ca_sign_challenge` does the same inside the project (employers.verification.testing).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

SM2_USER_ID = "1234567812345678"


def sign_sm2(key_pem: bytes, data: bytes) -> bytes:
    """SM2 over SM3 with the default signer ID, by the openssl command (cryptography has no SM2)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ValueError("SM2 keys need the openssl command")
    with tempfile.TemporaryDirectory() as tmp:
        key_path, data_path = Path(tmp) / "key.pem", Path(tmp) / "data.bin"
        key_path.touch(mode=0o600)
        key_path.write_bytes(key_pem)
        data_path.write_bytes(data)
        result = subprocess.run(  # noqa: S603 (fixed argument list, no shell)
            [openssl, "dgst", "-sm3", "-sign", str(key_path), "-sigopt",
             f"distid:{SM2_USER_ID}", str(data_path)],
            capture_output=True, timeout=10, check=False,
        )  # fmt: skip
    if result.returncode != 0 or not result.stdout:
        raise ValueError(result.stderr.decode("utf-8", "replace").strip() or "openssl failed")
    return result.stdout


def sign_challenge(key_pem: bytes, challenge: str) -> str:
    data = challenge.encode("utf-8")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except UnsupportedAlgorithm:  # an SM2 key
        return base64.b64encode(sign_sm2(key_pem, data)).decode("ascii")
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        raise ValueError("only RSA, ECDSA and SM2 keys can sign here")
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
    except (OSError, TypeError, ValueError, subprocess.TimeoutExpired) as exc:
        print(f"签名失败:{exc}", file=sys.stderr)
        return 1
    if args.out is not None:
        args.out.write_text(signature + "\n", encoding="ascii")
    print(signature)
    return 0


if __name__ == "__main__":
    sys.exit(main())
