import datetime

import pytest

from tests.contributions.bill_helpers import create_bill, create_unit_with_staff


@pytest.mark.django_db
def test_bill_helper():
    employer, agent, period, enrolments = create_unit_with_staff(2)
    bill = create_bill(employer, datetime.date(2026, 8, 1), enrolments)
    assert bill.lines.count() == 8
    # 8000: pension 1280+640, medical 784+160, unemployment 40+40, injury (class1 0.002) 16
    assert str(bill.total) == str(2 * (1280 + 640 + 784 + 160 + 40 + 40 + 16)) + ".00"
