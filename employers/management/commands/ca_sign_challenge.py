"""Sign a challenge with a PEM key, as a unit's USB-Key signing helper would (tests only)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from employers.verification.testing import sign_challenge


class Command(BaseCommand):
    help = "仅用于开发和测试:用PEM私钥对挑战值签名(模拟USB-Key),输出Base64签名。"

    def add_arguments(self, parser):
        parser.add_argument("--key", type=Path, required=True, help="单位私钥(PEM,未加密)")
        parser.add_argument(
            "--challenge", required=True, help="页面显示的挑战值;以“-”开头时写成 --challenge=挑战值"
        )
        parser.add_argument("--out", type=Path, help="把签名另存到此文件")

    def handle(self, *args, key: Path, challenge: str, out: Path | None, **options):
        if not key.exists():
            raise CommandError(f"文件不存在:{key}")
        try:
            signature = sign_challenge(key.read_bytes(), challenge)
        except (TypeError, ValueError) as exc:
            raise CommandError(f"无法用该私钥签名:{exc}") from None
        if out is not None:
            out.write_text(signature + "\n", encoding="ascii")
        self.stdout.write(signature)
