"""The settlement benchmark (issue 6, acceptance 5): a scratch portfolio and one standard day.

Portfolio (partners BENCH1 = platform, BENCH2 = guarantor; never the demo's): three agreements —
PRO_RATA 70/30 with the guarantor (programs BCASH, BSHOP), BANK_FIXED_YIELD 70/30 with an 8 %
bank yield (BFLEX: interest-first and daily loans), and a legacy agreement of 2020 with the
bank at 80 % (BLEG: daily loans disbursed in 2021 that run off). Loans are generated with the
pure domain and booked by `services.loans_book` in big batches (COPY); then two warm-up days
are settled through the chunk steps: W0 books the disbursements and brings the ~5 % overdue loans
forward (billing, penalty, claims at DPD 80, write-off at 180, non-accrual past 90), W1 has
guarantor claim payments (some loans become CLAIMED) and borrower payments on arrears.

The standard day is the next business date after the last settled one, so a kept portfolio is
reused run after run (each day books its 3 % of new loans). Its four partner files go through
the real intake, then `runner.settlement_run` does the rest.

`portfolio`: the scratch portfolio (build, reuse, wipe); `day`: the standard day's files, the
yardstick's samples and the delivery.
"""
