"""Loopback fake of Spotify's Web API (filled in by the Spotify client work)."""
