"""Load a CA's certificate revocation list (CRL)."""

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from employers.verification.ca_services import ca_crl_load


class Command(BaseCommand):
    help = "导入CA机构发布的证书吊销列表(CRL,PEM或DER);签发者须为受信任的根证书。"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"文件不存在:{file}")
        data = file.read_bytes()
        try:
            crl = ca_crl_load(data=data)
        except ValidationError as exc:
            raise CommandError(";".join(exc.messages)) from None
        if bytes(crl.crl_der) != _der(data):
            self.stdout.write(
                self.style.WARNING(
                    f"已有更新的CRL({crl.this_update:%Y-%m-%d %H:%M}),本文件未导入:{crl.issuer}"
                )
            )
            return
        next_update = f"{crl.next_update:%Y-%m-%d %H:%M}" if crl.next_update else "未指定"
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入 {crl.issuer} 的CRL:吊销 {crl.revoked_count} 张,"
                f"本次更新 {crl.this_update:%Y-%m-%d %H:%M},下次更新 {next_update}"
            )
        )


def _der(data: bytes) -> bytes:
    crl = x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data)
    return crl.public_bytes(serialization.Encoding.DER)
