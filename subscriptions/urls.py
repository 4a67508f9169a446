"""Subscribe, confirm by token, unsubscribe by token (page and RFC 8058 one-click), manage."""

from django.urls import path

from . import views
from .manage import listening, web_copies
from .manage import schedule as preferences
from .manage import views as manage_views

app_name = "subscriptions"

# Tokens come from secrets.token_urlsafe, whose alphabet is exactly the slug converter's; anything
# else (a NUL byte, which PostgreSQL refuses in a query) is a 404 before it reaches the database.
urlpatterns = [
    path("", views.subscribe, name="subscribe"),
    path("confirm/<slug:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<slug:token>/", views.unsubscribe, name="unsubscribe"),
    path("manage/", manage_views.lost_link, name="lost_link"),
    path("manage/<slug:token>/", manage_views.manage_page, name="manage"),
    path("manage/<slug:token>/schedule/", preferences.schedule, name="schedule"),
    path("manage/<slug:token>/keep/", listening.keep, name="keep"),
    path("manage/<slug:token>/emails/", web_copies.email_list, name="email_list"),
    path("manage/<slug:token>/emails/<int:pk>/", web_copies.email_copy, name="email_copy"),
]
