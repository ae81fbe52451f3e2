"""The reference provincial server: the HTTP API (FastAPI on uvicorn) and the store behind it.

Installed with the ``province`` extra (``pip install counter-app[province]``). It sits beside the
office's sync client and shares the protocol with it (``counter_app.sync.protocol``, ``signing``,
``transitions``, the transfer file format); the counter never imports this package, so a counter
PC needs neither FastAPI nor uvicorn.
"""
