from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = _("职工参保管理")

    def ready(self):
        # Each reviewable feature registers its hooks with portal.review (<feature>/review.py).
        from enrollment.add import review as add_review
        from enrollment.personchange import review as person_change_review
        from enrollment.removal import review as removal_review

        add_review.register()
        removal_review.register()
        person_change_review.register()
