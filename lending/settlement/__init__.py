"""The daily settlement run (DESIGN §6) and its set-based SQL helpers."""
