"""Development-only benchmarks, out of the product: the settlement benchmark (a scratch
portfolio and one standard day, `settlement/`), the per-event yardstick (`yardstick/`), the
real-worker launcher (`workers.py`) and the commands `bench_settlement`, `bench_intake`,
`bench_ledger`. Installed only in development settings (config/settings.py: not with DEBUG=0
or BENCHMARKS=0); no models, no migrations."""
