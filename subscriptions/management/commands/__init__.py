"""`manage.py` commands: send_daily_playlists."""
