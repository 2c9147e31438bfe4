"""A Flask app served by `gunicorn --preload`: it opens its SQLite database at import.

With --preload the arbiter imports this module once and forks the workers, so
every worker shares this one connection's file descriptor (and SQLite's locks).
"""
import os
import sqlite3

from flask import Flask

DATABASE = os.path.join(os.environ.get("APP_DATA", "/tmp"), "app.db")

db = sqlite3.connect(DATABASE, check_same_thread=False)  # leak: opened in the arbiter
db.execute("create table if not exists visits (at text)")
db.commit()

app = Flask(__name__)


@app.route("/")
def index():
    db.execute("insert into visits values (datetime('now'))")
    db.commit()
    return "ok"
