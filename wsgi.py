"""WSGI entry point: `gunicorn wsgi:app`."""

import sys

from lti_tool import create_app
from lti_tool.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
