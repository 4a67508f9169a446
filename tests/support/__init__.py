"""Test support shared by the end-to-end, fault and browser tests and the web benchmark."""
