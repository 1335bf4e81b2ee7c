"""The message queue between server processes (Redis), with a bound on how long a publish takes.

python-socketio's Redis manager publishes on a client without a socket timeout: a Redis that
hangs (a frozen host, a network that drops packets without a reset) would hold the publishing
request forever, and with it the hall's outbox (outbox.py), so no event of the hall would
leave this process again.
Here a publish gives up after PUBLISH_TIMEOUT (the manager tries twice), the change stays
committed, and the screens of the other processes see the gap in `seq` and take a snapshot
once events flow again. The listener keeps its own blocking connection: a quiet hall is not a
broken one, and it reconnects by itself when Redis comes back.
"""
from __future__ import annotations

from urllib.parse import urlparse

import socketio

PUBLISH_TIMEOUT = 1.0   # seconds for one publish attempt (connect included)


class HallRedisManager(socketio.RedisManager):
    def _redis_connect(self):
        super()._redis_connect()   # the listener's pubsub keeps the client made here
        self.redis = self._get_redis_module().Redis.from_url(
            self.redis_url, **{"socket_timeout": PUBLISH_TIMEOUT, "socket_connect_timeout": PUBLISH_TIMEOUT,
                               **self.redis_options})


def client_manager(url: str | None, channel: str, write_only: bool = False):
    """The Socket.IO client manager for `--message-queue`, or None to let Flask-SocketIO choose.
    `write_only`: a process that holds no sockets (`--role api`) publishes and never listens."""
    if not url or urlparse(url).scheme not in ("redis", "rediss", "unix"):
        return None
    return HallRedisManager(url, channel=channel, write_only=write_only)
