"""URL configuration: the public pages, subscriptions, the admin and Mailgun's webhooks."""

from django.contrib import admin
from django.urls import include, path

from subscriptions.delivery.webhooks import MailgunTrackingWebhookView
from subscriptions.manage import listening

urlpatterns = [
    path("", include("search.urls")),
    path("subscriptions/", include("subscriptions.urls")),
    # A pick's link in an email: counted, then the playlist (subscriptions.listening).
    path("go/<str:signed>/", listening.go, name="go"),
    # Before the admin's own URLs: the list's health dashboard, staff only.
    path("admin/dashboard/", include("subscriptions.admin.dashboard")),
    path("admin/", admin.site.urls),
    # Before anymail's own URLs, so this hardened view answers Mailgun's tracking posts.
    path(
        "anymail/mailgun/tracking/",
        MailgunTrackingWebhookView.as_view(),
        name="mailgun_tracking_webhook",
    ),
    path("anymail/", include("anymail.urls")),
]

admin.site.site_header = "funky-music administration"
admin.site.site_title = "funky-music admin"
