# Fills billing's new Invoice.metadata of one-off invoices paid through a checkout before
# it existed, from their session. A checkout migration: checkout knows both apps.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def copy_session_metadata(apps, schema_editor):
    alias = schema_editor.connection.alias
    session = apps.get_model("checkout", "CheckoutSession")
    invoice = apps.get_model("billing", "Invoice")
    paid_by = session.objects.using(alias).filter(invoice_id=OuterRef("pk"))
    invoice.objects.using(alias).filter(checkoutsession__isnull=False,
                                        subscription__isnull=True).update(
        metadata=Subquery(paid_by.values("metadata")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0009_invoice_metadata"),
        ("checkout", "0002_invoice_receipt_fields"),
    ]

    operations = [
        migrations.RunPython(copy_session_metadata, migrations.RunPython.noop, elidable=True),
    ]
