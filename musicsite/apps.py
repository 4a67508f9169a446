"""The admin app, with the project's admin site and its staff's one-time-password devices."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin, whose default site is StaffAdminSite (two-factor when required)."""

    default_site = "musicsite.staff_signin.StaffAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin, django-otp's device admins included
        from .staff_devices import register_own_device_admins

        register_own_device_admins()
