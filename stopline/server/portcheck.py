"""Before serving: is the port free? One clear sentence instead of gunicorn's five retries."""

from __future__ import annotations

import errno
import socket


def port_problem(host: str, port: int) -> str | None:
    """Why stopline cannot listen on host:port, or None when it can (a bind test)."""
    if not 1 <= port <= 65535:  # getaddrinfo takes 99999 without a word
        return f"{port} is not a port number (1-65535): check STOPLINE_PORT or --port"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError, OverflowError) as error:
        return f"cannot listen on {host}:{port}: {error} (check STOPLINE_HOST or --host)"
    probe = socket.socket(family, kind, proto)
    try:
        # The same option gunicorn sets: a port left in TIME_WAIT is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            return (
                f"port {port} on {host} is already in use: another stopline (or another "
                f"program) may be running there. Stop it, or pick another port: "
                f"STOPLINE_PORT={_other(port)} in .env or the environment, "
                f"`stopline serve --port {_other(port)}`, or `make run PORT={_other(port)}`."
            )
        if error.errno == errno.EACCES:
            return (
                f"no permission to listen on port {port} (ports below 1024 need root): "
                f"pick another with STOPLINE_PORT or --port"
            )
        return (
            f"cannot listen on {host}:{port}: {error.strerror or error} "
            "(check STOPLINE_HOST or --host)"
        )
    finally:
        probe.close()
    return None


def address(host: str, port: int) -> str:
    """host:port as gunicorn and URLs want it: an IPv6 address goes in brackets."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _other(port: int) -> int:
    return port + 1 if port < 65535 else 8001
