"""The same tasks, fixed: each pool process opens the audit file after it is forked."""
import os

from celery import Celery
from celery.signals import worker_process_init

app = Celery("tasks", broker="memory://", backend="cache+memory://")

audit = None


@worker_process_init.connect
def open_audit(**_kwargs):
    global audit
    audit = open(os.path.join(os.environ.get("APP_DATA", "/tmp"), "audit.log"), "a")


@app.task
def charge(order_id):
    audit.write(f"charged {order_id}\n")
    audit.flush()
    return order_id
