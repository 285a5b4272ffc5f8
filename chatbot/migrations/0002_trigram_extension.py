from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """pg_trgm lets the catalogue search forgive typos; the operation does nothing on other databases."""

    dependencies = [("chatbot", "0001_initial")]

    operations = [TrigramExtension()]
