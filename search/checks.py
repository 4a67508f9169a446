"""System checks for the Spotify configuration."""
