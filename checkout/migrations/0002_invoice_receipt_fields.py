# Fills billing's new receipt fields of invoices paid through a checkout before they
# existed. A checkout migration, not a billing one: checkout sits above billing and knows
# both; billing never reads checkout sessions.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_session_fields(apps, schema_editor):
    alias = schema_editor.connection.alias
    session = apps.get_model("checkout", "CheckoutSession")
    invoice = apps.get_model("billing", "Invoice")
    paid_by = session.objects.using(alias).filter(invoice_id=OuterRef("pk"))
    invoice.objects.using(alias).filter(checkoutsession__isnull=False).update(
        checkout_reference=Subquery(paid_by.values("reference")[:1]),
        receipt_email=Subquery(paid_by.values("customer_email")[:1]),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_invoice_receipt_fields"),
        ("checkout", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_session_fields, migrations.RunPython.noop, elidable=True),
    ]
