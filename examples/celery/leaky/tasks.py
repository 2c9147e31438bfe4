"""Celery tasks that append to an audit file opened when the task module is imported.

The worker's main process imports this module and then forks its prefork pool:
every pool process writes through the main process's one file description.
"""
import os

from celery import Celery

app = Celery("tasks", broker="memory://", backend="cache+memory://")

audit = open(os.path.join(os.environ.get("APP_DATA", "/tmp"), "audit.log"), "a")  # leak


@app.task
def charge(order_id):
    audit.write(f"charged {order_id}\n")
    audit.flush()
    return order_id
