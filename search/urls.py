"""URLs of the public pages: home, search results, playlists, and the health check."""

from django.urls import path

from . import views

app_name = "search"

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.results, name="results"),
    path("playlist/<str:playlist_id>/", views.playlist, name="playlist"),
    # The original lesson's address; Spotify ids no longer need the owner's name.
    path("playlist/<str:username>/<str:playlist_id>/", views.playlist, name="playlist_legacy"),
    path("healthz", views.healthz, name="healthz"),
]
