"""Trust a CA root certificate for unit certificates (USB-Key)."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from employers.verification.ca_services import ca_root_trust


class Command(BaseCommand):
    help = "导入受信任的CA根证书(PEM或DER)。同一证书重复导入不会重复添加。"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--name", required=True, help="CA机构名称,显示在管理后台")

    def handle(self, *args, file: Path, name: str, **options):
        if not file.exists():
            raise CommandError(f"文件不存在:{file}")
        try:
            root = ca_root_trust(pem=file.read_bytes(), name=name)
        except ValidationError as exc:
            raise CommandError(";".join(exc.messages)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"已信任根证书 {root.name}:{root.subject}\n"
                f"  SHA-256 {root.fingerprint_sha256}\n  有效期至 {root.not_after:%Y-%m-%d}"
            )
        )
