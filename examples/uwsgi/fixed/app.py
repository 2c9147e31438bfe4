"""The same app, fixed: the exporter starts in each worker, after the fork."""
from flask import Flask
from prometheus_client import Counter, start_http_server
from uwsgidecorators import postfork

REQUESTS = Counter("requests", "Requests served")


@postfork
def start_exporter():
    start_http_server(0, addr="127.0.0.1")


app = Flask(__name__)
# The WSGI callable uWSGI looks for (without --callable).
application = app


@app.route("/")
def index():
    REQUESTS.inc()
    return "ok"
