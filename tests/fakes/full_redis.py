"""A Redis connection that answers as a Redis at `maxmemory` under the `noeviction` policy.

Redis's own reference for the error ("OOM error", redis.io/docs/latest/develop/reference/
errors/common/oom/): "Commands that add data fail, but commands that read or delete data still
work", with `OOM command not allowed when used memory > 'maxmemory'.`, which redis-py raises
as OutOfMemoryError. `maxmemory` is server-wide, so a test cannot set it on its own db number;
instead this connection class, handed to redis-py's pool through a cache's OPTIONS (Django
passes them to `ConnectionPool.from_url`), refuses the commands that add data before they are
sent, and lets everything else reach the real server:

    CACHES = {"ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                            "LOCATION": "redis://127.0.0.1:6379/5",
                            "OPTIONS": {"connection_class": FullRedisConnection}}}
"""

from redis.connection import Connection
from redis.exceptions import OutOfMemoryError

# The commands Redis flags `denyoom` among those Django's cache and a page cache use.
ADDS_DATA = {
    "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "MSET", "MSETNX", "APPEND", "SETRANGE",
    "INCR", "INCRBY", "INCRBYFLOAT", "DECR", "DECRBY",
    "LPUSH", "RPUSH", "SADD", "ZADD", "HSET", "HSETNX", "HMSET",
}  # fmt: skip
OOM_MESSAGE = "command not allowed when used memory > 'maxmemory'."


class FullRedisConnection(Connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._refused = False

    def send_command(self, *args, **kwargs):
        self._refused = bool(args) and str(args[0]).upper() in ADDS_DATA
        if not self._refused:
            super().send_command(*args, **kwargs)

    def read_response(self, *args, **kwargs):
        if self._refused:
            self._refused = False
            raise OutOfMemoryError(OOM_MESSAGE)
        return super().read_response(*args, **kwargs)
