"""The HTTP API (FastAPI, served by uvicorn): ``create_app(settings)`` and the server that runs it.

    app.py           create_app: routes under /api/v1, lifespan that builds Services
    routes/          one module per group of routes
    auth.py          tokens and session cookies → Principal; Require(permission)
    problems.py      errors → RFC 9457 problem details
    models.py        request and response models (the typed OpenAPI schema)
    card_listing.py  cursor paging of cards over the search index
    requestlog.py    one log line per request; 500 problems for unhandled errors
    server.py        uvicorn on a socket bound up front, in a thread

Import ``create_app`` from ``workers.api.app``: this package imports nothing itself, so binding
the port (``workers.api.server``) comes before the application's imports.
"""
