"""The same app, fixed: each worker opens its own connection, on first use."""
import os
import sqlite3

from flask import Flask, g

DATABASE = os.path.join(os.environ.get("APP_DATA", "/tmp"), "app.db")

app = Flask(__name__)


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
        g.db.execute("create table if not exists visits (at text)")
    return g.db


@app.teardown_appcontext
def close_db(_error):
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.route("/")
def index():
    get_db().execute("insert into visits values (datetime('now'))")
    get_db().commit()
    return "ok"
