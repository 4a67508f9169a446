# The inbox key column on subscriptions and delivery events (filled by the next migration),
# and the plain-address rule on the subscription's email field.

import subscriptions.addresses
from django.db import migrations, models

INBOX_KEY = models.CharField(
    default="",
    editable=False,
    help_text="The address with case, +tag and spelling removed: one key per inbox.",
    max_length=512,
    verbose_name="inbox key",
)


class Migration(migrations.Migration):
    dependencies = [
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscription",
            name="inbox_key",
            field=INBOX_KEY,
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="emailevent",
            name="inbox_key",
            field=INBOX_KEY.clone(),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="subscription",
            name="email",
            field=models.EmailField(
                max_length=254,
                validators=[subscriptions.addresses.validate_plain_address],
                verbose_name="email address",
            ),
        ),
    ]
