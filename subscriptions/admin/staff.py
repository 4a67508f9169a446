"""What every admin of the mail side shares: the signed-in staff request's type."""

from django.contrib.auth.models import User
from django.http import HttpRequest


class StaffRequest(HttpRequest):
    """A request the admin site has let in: its user is a signed-in staff member."""

    user: User
