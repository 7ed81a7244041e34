"""Make the development signing certificate for proofs (a test CA and a signing certificate)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.pdf_signing import DEV_SIGNER_NAME, dev_signing_dir, dev_signing_files


class Command(BaseCommand):
    help = (
        "仅用于开发和测试:在 var/proof-signing/ 生成测试根CA和证明签名证书(含私钥),"
        "未配置 PROOF_SIGNING_CERT/PROOF_SIGNING_KEY 时开具的证明用它签名。已有时沿用,"
        "--force 重新生成。生产环境必须配置经办机构的签名证书。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="重新生成(旧证书签名的文件将无法验证)"
        )

    def handle(self, *args, force: bool, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError(
                "生产环境不能使用测试签名证书,请配置 PROOF_SIGNING_CERT 和 PROOF_SIGNING_KEY。"
            )
        existed = dev_signing_files(create=False) is not None
        files = dev_signing_files(create=True, replace=force)
        verb = "已沿用" if existed and not force else "已生成"
        self.stdout.write(
            self.style.SUCCESS(f"{verb}测试签名证书({DEV_SIGNER_NAME}),目录 {dev_signing_dir()}:")
        )
        self.stdout.write(f"  根证书(验证时信任它):{files.root}")
        self.stdout.write(f"  签名证书及证书链:{files.cert}")
        self.stdout.write(f"  私钥:{files.key}")
        if settings.PROOF_SIGNING_CERT or settings.PROOF_SIGNING_KEY:
            self.stdout.write(
                self.style.WARNING(
                    "已配置 PROOF_SIGNING_CERT/PROOF_SIGNING_KEY,证明仍用所配置的证书签名。"
                )
            )
        else:
            self.stdout.write(
                "未配置 PROOF_SIGNING_CERT/PROOF_SIGNING_KEY:开具的证明将自动使用此证书签名。"
            )
