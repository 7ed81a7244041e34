from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmployersConfig(AppConfig):
    name = "employers"
    verbose_name = _("单位与经办人")

    def ready(self):
        # Each reviewable feature registers its hooks with portal.review (<feature>/review.py).
        from employers import filings
        from employers.registration import review as registration_review
        from employers.unitinfo import review as unitinfo_review

        registration_review.register()
        unitinfo_review.register()
        filings.register()
