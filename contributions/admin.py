"""The contributions app's clerk screens; each feature keeps its own in its admin module,
imported here so that the admin's autodiscovery (which imports contributions.admin) registers
them."""

from contributions.backpay import admin as admin_backpay  # noqa: F401
from contributions.benefits import admin as admin_benefits  # noqa: F401
from contributions.billing import admin as admin_billing  # noqa: F401
from contributions.collection import admin as admin_collection  # noqa: F401
from contributions.declarations import admin as admin_declarations  # noqa: F401
from contributions.payments import admin as admin_payments  # noqa: F401
from contributions.policy import admin as admin_policy  # noqa: F401
from contributions.proofs import admin as admin_proofs  # noqa: F401
