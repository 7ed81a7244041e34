"""Issue test certificates from a test CA: one good and several bad per unit."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from employers.verification.testing import (
    ALGORITHMS,
    BAD_VARIANTS,
    CRL_FILE,
    DEFAULT_CA_NAME,
    ROOT_FILE,
    write_test_set,
)
from portal.identifiers import normalise_uscc, uscc_check_char

# The first unit `manage.py seed_demo` creates (北京演示科技有限公司).
DEFAULT_USCC = "91110105MA01A1B20" + uscc_check_char("91110105MA01A1B20")


class Command(BaseCommand):
    help = (
        "仅用于开发和测试:生成测试CA根证书,并为每个信用代码签发有效、过期、已吊销、自签名、"
        "尚未生效的单位证书(含私钥)及CRL,均为PEM文件。目录中已有测试CA时沿用。"
        "--algorithm sm2 生成SM2/SM3(国密)证书,需要系统的openssl 3命令。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="输出目录")
        parser.add_argument("--uscc", action="append", default=[], help="单位信用代码,可多次")
        parser.add_argument("--algorithm", choices=ALGORITHMS, default="rsa")

    def handle(self, *args, out: Path, uscc: list[str], algorithm: str, **options):
        usccs = [normalise_uscc(value) for value in uscc] or [DEFAULT_USCC]
        for value in usccs:
            if len(value) != 18:
                raise CommandError(f"信用代码应为18位:{value}")
        try:
            written = write_test_set(out, usccs=usccs, now=timezone.now(), algorithm=algorithm)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"已生成 {len(written)} 个文件:"))
        for path in written:
            self.stdout.write(f"  {path}")
        bad = "、".join(BAD_VARIANTS)
        self.stdout.write(
            "\n每个单位:<USCC>.pem / <USCC>.key.pem 为有效证书和私钥;"
            f"<USCC>-{{{bad}}}.pem 为各类无效证书。\n下一步:\n"
            f"  python manage.py ca_trust_root {out / ROOT_FILE} --name {DEFAULT_CA_NAME}\n"
            f"  python manage.py ca_load_crl {out / CRL_FILE}\n"
            f"  python manage.py ca_sign_challenge --key {out / (usccs[0] + '.key.pem')} "
            "--challenge=<挑战值>\n"
            f"  python manage.py ca_check_certificate {out / (usccs[0] + '.pem')} "
            f"--uscc {usccs[0]}"
        )
