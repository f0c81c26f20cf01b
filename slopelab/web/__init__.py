"""The interactive demo: a FastAPI app serving a page that trains a linear classifier on 2-D
points while you watch, computing everything with slopelab (``slopelab demo`` starts it)."""

from slopelab.web.app import create_app
from slopelab.web.server import serve

__all__ = ["create_app", "serve"]
