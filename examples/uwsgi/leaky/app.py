"""A Flask app under uWSGI that starts its Prometheus exporter at import.

uWSGI loads the app in the master, then forks the workers: the exporter's
listening socket (and its thread, which does not survive the fork) stays in
the master, and every worker inherits the socket.
"""
from flask import Flask
from prometheus_client import Counter, start_http_server

REQUESTS = Counter("requests", "Requests served")
start_http_server(0, addr="127.0.0.1")  # leak: the exporter's socket, opened in the master

app = Flask(__name__)
# The WSGI callable uWSGI looks for (without --callable).
application = app


@app.route("/")
def index():
    REQUESTS.inc()
    return "ok"
