"""The prefork-check fork check as a pytest fixture."""
from .cli import PreforkCheckError, find_cli, run_check

__all__ = ["PreforkCheckError", "find_cli", "run_check"]
