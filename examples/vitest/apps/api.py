"""Loads its settings at import and closes the file: nothing is left for the workers to share."""
import json
import os

with open(os.path.join(os.path.dirname(__file__), "settings.json")) as settings_file:
    SETTINGS = json.load(settings_file)

print("READY")
