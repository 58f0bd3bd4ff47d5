"""The staff console (``assistant admin``): documents, preview, reindex and residents' questions.

A small FastAPI app with server-rendered pages, separate from the resident chat: it binds
to loopback on its own port, is off unless a password is configured, and changes only
``corpus/`` (files and ``catalogue.toml``), ``index/`` (through the same build and lock as
``assistant reindex``) and its own folder under ``config.data_dir()``.

- ``auth``: password, sessions, CSRF tokens, slowing down repeated failed logins;
- ``catalogue``: writing ``corpus/catalogue.toml`` entries;
- ``documents``: the document list, uploads waiting for review, preview, publish, delete;
- ``reindex``: the background build the page starts and follows;
- ``app``: the routes and pages.
"""
