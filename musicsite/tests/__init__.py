"""Tests of the project package: settings read from the environment."""
