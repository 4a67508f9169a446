"""The staff's one-time-password devices in the admin: each member sees and adds only their own.

django-otp's admins show every device's secret (the TOTP key, its QR code, the static backup
codes) to anyone with the model's view permission; a device is a second factor, so only its
owner, and superusers, may see it.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice


class OwnDevicesOnly(admin.ModelAdmin):
    """A superuser sees every device; any other staff member only their own, and a device
    they add is theirs whatever the form says."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        devices = super().get_queryset(request)
        if request.user.is_superuser:
            return devices
        return devices.filter(user=request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [*fields, "user"]

    def _owns(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or request.user.is_superuser or obj.user_id == request.user.pk

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not request.user.is_superuser:
            obj.user = request.user
        super().save_model(request, obj, form, change)


class OwnTOTPDeviceAdmin(OwnDevicesOnly, TOTPDeviceAdmin):
    pass


class OwnStaticDeviceAdmin(OwnDevicesOnly, StaticDeviceAdmin):
    pass


OWN_DEVICE_ADMINS: dict[type[Model], type[admin.ModelAdmin]] = {
    TOTPDevice: OwnTOTPDeviceAdmin,
    StaticDevice: OwnStaticDeviceAdmin,
}


def register_own_device_admins() -> None:
    """Put the own-devices admins in place of django-otp's (called once the admin is set up)."""
    for model, model_admin in OWN_DEVICE_ADMINS.items():
        if admin.site.is_registered(model):
            admin.site.unregister(model)
        admin.site.register(model, model_admin)
