from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "Playlist search"

    def ready(self):
        from . import checks  # noqa: F401  (registers the Spotify configuration check)
