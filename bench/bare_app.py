"""The baseline: a bare Flask endpoint, served by the same gunicorn configuration as the tool."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
@app.get("/bare")
def bare():
    return "ok"
