"""Models of the contributions app, one module per concern; every name is re-exported here."""

from contributions.models.backpay import (
    BackPayApplication,
    BackPayAttachment,
    BackPayMonth,
)
from contributions.models.benefits import (
    BenefitAttachment,
    InjuryClaim,
    InjuryRecognition,
    MaternityClaim,
    MaternityKind,
    MedicalReceipt,
    RegionalAverageWage,
    RegionBenefitSettings,
    UnitWageSource,
)
from contributions.models.billing import (
    BillKind,
    BillLine,
    BillStatus,
    MonthlyBill,
)
from contributions.models.collection import (
    CollectionOrder,
    CollectionResult,
    ReconciliationReport,
    SandboxTaxOrder,
    SandboxTaxPayment,
)
from contributions.models.declarations import (
    BaseDeclaration,
    BaseDeclarationLine,
    ContributionBase,
)
from contributions.models.exports import (
    ExportJob,
)
from contributions.models.payments import (
    Payment,
    SandboxBankAccount,
    SandboxBankDebit,
)
from contributions.models.policy import (
    DEFAULT_ROUNDING,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
    CollectionMode,
    ContributionAccount,
    InsuranceType,
    PolicyPeriod,
    PolicyRate,
    RegionContributionSettings,
    RiskClass,
    RoundingMethod,
    RoundingRule,
    Side,
    first_of_month,
    rate_validators,
)
from contributions.models.proofs import (
    ContributionProof,
)

__all__ = [
    "RATE_MAX_DIGITS",
    "RATE_DECIMAL_PLACES",
    "MONEY_MAX_DIGITS",
    "MONEY_DECIMAL_PLACES",
    "InsuranceType",
    "Side",
    "RiskClass",
    "RoundingMethod",
    "DEFAULT_ROUNDING",
    "rate_validators",
    "PolicyPeriod",
    "PolicyRate",
    "RoundingRule",
    "first_of_month",
    "RegionContributionSettings",
    "CollectionMode",
    "CollectionOrder",
    "CollectionResult",
    "ReconciliationReport",
    "SandboxTaxOrder",
    "SandboxTaxPayment",
    "SandboxBankDebit",
    "ContributionAccount",
    "BaseDeclaration",
    "BaseDeclarationLine",
    "ContributionBase",
    "BillStatus",
    "BillKind",
    "MonthlyBill",
    "BillLine",
    "Payment",
    "SandboxBankAccount",
    "ContributionProof",
    "ExportJob",
    "UnitWageSource",
    "RegionBenefitSettings",
    "RegionalAverageWage",
    "MaternityKind",
    "MaternityClaim",
    "InjuryRecognition",
    "InjuryClaim",
    "MedicalReceipt",
    "BenefitAttachment",
    "BackPayApplication",
    "BackPayMonth",
    "BackPayAttachment",
]
