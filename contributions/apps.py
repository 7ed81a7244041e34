from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContributionsConfig(AppConfig):
    name = "contributions"
    verbose_name = _("缴费申报")

    def ready(self):
        # Each reviewable feature registers its hooks with portal.review (<feature>/review.py).
        from contributions.backpay import review as backpay_review
        from contributions.benefits import review as benefits_review
        from contributions.declarations import review as declarations_review

        declarations_review.register()
        benefits_review.register()
        backpay_review.register()

        # The roster page queues its large exports as export jobs (enrollment.roster.exports).
        from contributions.exports.services import roster_export_job_start
        from enrollment.roster.exports import large_export_register

        large_export_register(roster_export_job_start)

        # A person's new name moves the person's lines on the bills' pages (BillLine.position).
        from contributions.billing.line_order import bill_lines_renumber_for_person
        from enrollment.renames import person_renamed_register

        person_renamed_register(bill_lines_renumber_for_person)
