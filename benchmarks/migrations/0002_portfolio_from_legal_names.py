"""A kept portfolio stays kept: the state the benchmark used to write into the bench platforms'
legal names ("Bench platform N=<n> G=<gen>", "retired bench platform G=<gen>") becomes
BenchPortfolio rows, so a database benchmarked before this model reuses its portfolio."""

from django.db import migrations
from django.utils import timezone


def _parts(legal_name: str) -> dict[str, str]:
    return dict(x.split("=", 1) for x in legal_name.split() if "=" in x)


def forwards(apps, schema_editor):
    Partner = apps.get_model("partners", "Partner")
    BenchPortfolio = apps.get_model("benchmarks", "BenchPortfolio")
    now = timezone.now()
    marked = [p for p in Partner.objects.filter(code__startswith="BENCHP").order_by("pk")
              if "G" in _parts(p.legal_name)
              and p.legal_name.lower().startswith(("bench platform", "retired bench platform"))]
    # the benchmark took the newest "Bench platform ..." as the current one
    current = [p for p in marked if p.legal_name.startswith("Bench platform")][-1:]
    for p in marked:
        parts = _parts(p.legal_name)
        retired = p not in current
        n = parts.get("N")
        BenchPortfolio.objects.create(
            partner=p, generation=int(parts["G"]),
            loans=int(n) if n and n != "-" and not retired else None,
            built_at=now if n and n != "-" and not retired else None,
            retired_at=now if retired else None)


class Migration(migrations.Migration):
    dependencies = [("benchmarks", "0001_portfolio")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
