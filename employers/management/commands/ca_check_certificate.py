"""Check one unit certificate as the portal would (ops): one verdict line, exit 0 only if valid."""

import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from employers.verification.ca import CertificateRejected, check_unit_certificate
from portal.identifiers import normalise_uscc

# CertificateRejected codes → the verdict words ops scripts read.
VERDICTS = {
    "not_certificate": "unreadable",
    "unsupported_algorithm": "unreadable",
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "untrusted": "untrusted",
    "revoked": "revoked",
    "wrong_unit": "uscc_mismatch",
}
CRL_STATUS = {
    "current": "未吊销(吊销列表在有效期内)",
    "stale": "未吊销(吊销列表已过下次更新时间,请尽快导入新的CRL)",
    "missing": "未检查吊销(尚未导入该签发机构的CRL)",
}


def check_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"日期格式应为 YYYY-MM-DD:{value}") from None


class Command(BaseCommand):
    help = (
        "按门户的规则检查一张单位证书(RSA、ECDSA或SM2;PEM可附中间CA证书):信任链、有效期、"
        "已导入的CRL、可选的信用代码。输出一行结论(valid、expired、not_yet_valid、revoked、"
        "untrusted、uscc_mismatch 或 unreadable),制表符后为中文说明;仅 valid 时退出码为0。"
    )

    def add_arguments(self, parser):
        parser.add_argument("certificate", type=Path, help="证书文件(PEM或DER)")
        parser.add_argument("--at", type=check_date, help="按该日0时(北京时间)检查,默认为当前时间")
        parser.add_argument("--uscc", help="核对证书是否属于该统一社会信用代码的单位")

    def handle(self, *args, certificate: Path, at, uscc, **options):
        now = timezone.now()
        if at is not None:
            now = timezone.make_aware(datetime.datetime.combine(at, datetime.time()))
        try:
            data = certificate.read_bytes()
        except OSError as exc:
            return self.verdict("unreadable", f"无法读取证书文件:{exc.strerror or exc}")
        try:
            check = check_unit_certificate(
                certificate=data,
                expected_uscc=normalise_uscc(uscc) if uscc else None,
                now=now,
            )
        except CertificateRejected as exc:
            if exc.code not in VERDICTS:
                raise CommandError(str(exc.message)) from None
            return self.verdict(VERDICTS[exc.code], str(exc.message))
        holder = f"单位信用代码 {check.uscc}" if check.uscc else "证书中未找到单位信用代码"
        return self.verdict(
            "valid",
            f"证书有效({check.algorithm}):{holder};签发者 {check.issuer};"
            f"有效期至 {timezone.localtime(check.not_after):%Y-%m-%d %H:%M};"
            f"{CRL_STATUS[check.crl_status]}",
        )

    def verdict(self, word: str, explanation: str):
        self.stdout.write(f"{word}\t{explanation}")
        if word != "valid":
            raise SystemExit(1)
