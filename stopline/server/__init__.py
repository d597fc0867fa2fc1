"""`stopline serve`: the server, its gunicorn application and its worker."""
