"""Pages in development without Spotify credentials: the offline demo catalog."""

from search import spotify


def test_demo_results_say_they_are_the_demo_catalog(client, db, demo):
    response = client.get("/search/", {"q": "happy"})
    assert response.status_code == 200
    assert b"offline demo catalog" in response.content
    assert b"SPOTIFY_CLIENT_ID" in response.content


def test_demo_playlist_page_lists_tracks_without_spotifys_player(client, db, demo):
    playlist = spotify.search_playlists("happy").items[0]
    response = client.get(f"/playlist/{playlist.id}/")
    assert response.status_code == 200
    assert playlist.name.encode() in response.content
    assert b"<table" in response.content
    # Spotify's embed player knows nothing of the demo's made-up ids.
    assert b"open.spotify.com/embed" not in response.content


def test_live_playlist_page_keeps_spotifys_player(client, db, fake_spotify):
    playlist_id = fake_spotify.add_playlist(name="Live one")
    response = client.get(f"/playlist/{playlist_id}/")
    assert f"https://open.spotify.com/embed/playlist/{playlist_id}".encode() in response.content
