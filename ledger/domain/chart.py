"""The chart of accounts for joint lending (联合贷款), as plain data.

Callers post by account code: import the constants (``chart.LOANS_RECEIVABLE == "1301"``).
The same code means the same thing in every book; a memo book holds only the subset in
``MEMO_ACCOUNTS``. The table is repeated in ``ledger/models.py``'s docstring.
"""

from __future__ import annotations

from dataclasses import dataclass

BANK_GL = "BANK_GL"
MEMO_PREFIX = "MEMO_"
DEFAULT_CURRENCY = "CNY"

ASSET, LIABILITY, EQUITY, INCOME, EXPENSE = "ASSET", "LIABILITY", "EQUITY", "INCOME", "EXPENSE"
DEBIT, CREDIT = "DEBIT", "CREDIT"

CASH = "1001"
INTEREST_RECEIVABLE = "1132"
PENALTY_RECEIVABLE = "1133"
DUE_FROM_PLATFORM = "1221"
DUE_FROM_GUARANTOR = "1222"
LOANS_RECEIVABLE = "1301"
LOSS_ALLOWANCE = "1304"
DUE_TO_PLATFORM = "2241"
FEE_PAYABLE = "2242"
CLAIM_PAYABLE_TO_GUARANTOR = "2243"
OVERPAYMENT_SUSPENSE = "2251"
PARTNER_FUNDING = "3001"
INTEREST_INCOME = "6011"
PENALTY_INCOME = "6012"
WRITE_OFF_RECOVERIES = "6013"
ROUNDING = "6903"
FEE_EXPENSE = "6421"
IMPAIRMENT_EXPENSE = "6701"
OFF_BALANCE_INTEREST = "7101"
OFF_BALANCE_CONTRA = "7199"


@dataclass(frozen=True, slots=True)
class AccountSpec:
    code: str
    key: str
    name: str
    type: str
    normal_balance: str
    off_balance: bool = False


CHART: tuple[AccountSpec, ...] = (
    AccountSpec(CASH, "CASH", "Cash and settlement account (存放/清算款项)", ASSET, DEBIT),
    AccountSpec(INTEREST_RECEIVABLE, "INTEREST_RECEIVABLE", "Interest receivable (应收利息)",
                ASSET, DEBIT),
    AccountSpec(PENALTY_RECEIVABLE, "PENALTY_RECEIVABLE", "Penalty receivable (应收罚息)",
                ASSET, DEBIT),
    AccountSpec(DUE_FROM_PLATFORM, "DUE_FROM_PLATFORM", "Due from platform (应收平台款)",
                ASSET, DEBIT),
    AccountSpec(DUE_FROM_GUARANTOR, "DUE_FROM_GUARANTOR", "Due from guarantor (应收代偿款)",
                ASSET, DEBIT),
    AccountSpec(LOANS_RECEIVABLE, "LOANS_RECEIVABLE", "Loans receivable (贷款本金)", ASSET, DEBIT),
    AccountSpec(LOSS_ALLOWANCE, "LOSS_ALLOWANCE", "Loan loss allowance (贷款损失准备)",
                ASSET, CREDIT),
    AccountSpec(DUE_TO_PLATFORM, "DUE_TO_PLATFORM", "Due to platform, disbursement funding "
                "(应付平台放款资金)", LIABILITY, CREDIT),
    AccountSpec(FEE_PAYABLE, "FEE_PAYABLE", "Service fee payable (应付服务费)", LIABILITY, CREDIT),
    AccountSpec(CLAIM_PAYABLE_TO_GUARANTOR, "CLAIM_PAYABLE_TO_GUARANTOR",
                "Recoveries payable to guarantor after claim (应付担保方追偿款)", LIABILITY, CREDIT),
    AccountSpec(OVERPAYMENT_SUSPENSE, "OVERPAYMENT_SUSPENSE", "Overpayment / suspense (溢缴款/暂收款)",
                LIABILITY, CREDIT),
    AccountSpec(PARTNER_FUNDING, "PARTNER_FUNDING", "Partner funding shown in memo (合作方出资)",
                EQUITY, CREDIT),
    AccountSpec(INTEREST_INCOME, "INTEREST_INCOME", "Interest income (利息收入)", INCOME, CREDIT),
    AccountSpec(PENALTY_INCOME, "PENALTY_INCOME", "Penalty income (罚息收入)", INCOME, CREDIT),
    AccountSpec(WRITE_OFF_RECOVERIES, "WRITE_OFF_RECOVERIES",
                "Recoveries of written-off loans (已核销贷款收回)", INCOME, CREDIT),
    AccountSpec(ROUNDING, "ROUNDING", "Rounding differences (尾差)", INCOME, CREDIT),
    AccountSpec(FEE_EXPENSE, "FEE_EXPENSE", "Service fee expense (手续费及佣金支出)", EXPENSE, DEBIT),
    AccountSpec(IMPAIRMENT_EXPENSE, "IMPAIRMENT_EXPENSE", "Credit impairment expense (信用减值损失)",
                EXPENSE, DEBIT),
    AccountSpec(OFF_BALANCE_INTEREST, "OFF_BALANCE_INTEREST",
                "Off-balance interest receivable (表外应收未收利息)", ASSET, DEBIT, off_balance=True),
    AccountSpec(OFF_BALANCE_CONTRA, "OFF_BALANCE_CONTRA",
                "Off-balance contra (表外科目对转)", LIABILITY, CREDIT, off_balance=True),
)

# Bank GL: every account but the partner-funding equity, which only a memo book needs.
BANK_GL_ACCOUNTS: tuple[AccountSpec, ...] = tuple(a for a in CHART if a.code != PARTNER_FUNDING)

# A memo book shows a partner's own share of the joint loans double-entry.
MEMO_ACCOUNTS: tuple[AccountSpec, ...] = tuple(
    a
    for a in CHART
    if a.code
    in {
        CASH, LOANS_RECEIVABLE, INTEREST_RECEIVABLE, PENALTY_RECEIVABLE, DUE_FROM_PLATFORM,
        DUE_FROM_GUARANTOR, PARTNER_FUNDING, INTEREST_INCOME, PENALTY_INCOME, ROUNDING,
        OFF_BALANCE_INTEREST, OFF_BALANCE_CONTRA,
    }
)


def memo_book_code(partner_code: str) -> str:
    """The code of the memo book kept for a partner: ``MEMO_<PARTNERCODE>``."""
    code = partner_code.strip().upper()
    if not code:
        raise ValueError("partner code must not be blank")
    return MEMO_PREFIX + code
