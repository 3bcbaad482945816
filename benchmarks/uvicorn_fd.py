"""One uvicorn process serving ``benchmarks.ceiling_app:app`` on an inherited TCP socket.

``benchmarks/webhook.py`` binds one SO_REUSEPORT socket per process and starts this with
its descriptor. Not ``uvicorn --fd``: uvicorn wraps such a descriptor as a Unix socket, so
the event loop never sets TCP_NODELAY on the accepted connections, and Nagle's algorithm
with delayed ACKs then holds small replies back (measured: 40-50 ms per request).
"""

from __future__ import annotations

import socket
import sys

import uvicorn


def main(fd: int) -> None:
    sock = socket.socket(fileno=fd)  # the family and type are read from the descriptor
    config = uvicorn.Config("benchmarks.ceiling_app:app", access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(int(sys.argv[1]))
