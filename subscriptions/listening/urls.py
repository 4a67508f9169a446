"""/go/<signed>/: a pick's link from an email or web copy (subscriptions.listening.links)."""

from django.urls import path

from . import views

app_name = "listening"

urlpatterns = [
    path("<str:signed>/", views.go, name="go"),
]
