"""Opens its audit log at import and keeps it: every forked worker would append through one offset."""
import os
import tempfile

AUDIT_LOG = open(os.path.join(tempfile.gettempdir(), "reports-audit.log"), "a")

print("READY")
