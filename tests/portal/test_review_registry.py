"""The review registry: every reviewable type's hooks come from its feature's review.py."""

import pytest
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from contributions.backpay import review as backpay_review
from contributions.benefits import review as benefits_review
from contributions.declarations import review as declarations_review
from contributions.models import (
    BackPayApplication,
    BaseDeclaration,
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
)
from employers.models import RegistrationApplication, UnitChangeFiling
from employers.registration import review as registration_review
from employers.unitinfo import review as unitinfo_review
from enrollment.add import review as add_review
from enrollment.models import AddEmployeeFiling, PersonChangeFiling, RemoveEmployeeFiling
from enrollment.personchange import review as person_change_review
from enrollment.removal import review as removal_review
from portal import review
from portal.models import AuditEvent


def test_each_reviewable_type_is_registered_with_its_features_hooks():
    expected = {
        RegistrationApplication: registration_review.registration_prechecks,
        AddEmployeeFiling: add_review.add_filing_prechecks,
        RemoveEmployeeFiling: removal_review.removal_prechecks,
        BaseDeclaration: declarations_review.declaration_prechecks,
        UnitChangeFiling: unitinfo_review.unit_change_prechecks,
        MaternityClaim: benefits_review.maternity_prechecks,
        InjuryRecognition: benefits_review.recognition_prechecks,
        InjuryClaim: benefits_review.injury_claim_prechecks,
        PersonChangeFiling: person_change_review.person_change_prechecks,
        BackPayApplication: backpay_review.backpay_prechecks,
    }
    assert set(review.reviewable_models()) == set(expected)
    for model, prechecks in expected.items():
        hooks = review.review_hooks(model)
        assert hooks.prechecks is prechecks
        assert hooks.on_decided.__module__ == prechecks.__module__
        assert hooks.notifications.__module__ == prechecks.__module__


def test_registering_a_type_twice_or_a_plain_model_is_refused():
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        review.register(AddEmployeeFiling, prechecks=lambda item: [])
    with pytest.raises(ImproperlyConfigured, match="not a ReviewableModel"):
        review.register(AuditEvent)


def test_an_unregistered_reviewable_model_fails_the_system_check(monkeypatch):
    assert not [m for m in checks.run_checks() if m.id == "portal.E001"]
    registry = dict(review._registry)
    del registry[RemoveEmployeeFiling]
    monkeypatch.setattr(review, "_registry", registry)
    errors = [m for m in checks.run_checks() if m.id == "portal.E001"]
    assert [error.obj for error in errors] == [RemoveEmployeeFiling]
    with pytest.raises(ImproperlyConfigured, match="no app registered"):
        review.review_hooks(RemoveEmployeeFiling)


def test_a_type_registered_without_hooks_gets_the_defaults(monkeypatch):
    monkeypatch.setattr(review, "_registry", {})
    review.register(AddEmployeeFiling)
    hooks = review.review_hooks(AddEmployeeFiling())
    assert hooks.prechecks(None) == []
    assert hooks.notifications(None, decision="approve", comment="") == []
    assert hooks.on_decided(None, actor=None, decision="reject", comment="x") is None


def test_precheck_result_has_the_shape_the_clerks_screen_reads():
    assert review.precheck_result("bounds", "基数在上下限内", 0, "低于下限") == {
        "key": "bounds",
        "label": "基数在上下限内",
        "passed": False,
        "detail": "低于下限",
    }
