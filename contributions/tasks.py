"""Celery tasks of the contributions app.

Each feature defines its tasks in its own module with an explicit name under
``contributions.tasks.`` (the routes in portal.celery match on it); this module imports them so
that Celery's autodiscovery finds them.
"""

from contributions.billing.tasks import *  # noqa: F403
from contributions.collection.tasks import *  # noqa: F403
from contributions.exports.tasks import *  # noqa: F403
from contributions.payments.tasks import *  # noqa: F403
