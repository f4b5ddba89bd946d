"""kombu's filesystem transport with atomic hand-over of message files.

The stock transport creates a message file and then writes it, while a consumer lists the folder
and moves files away: a consumer can take a file that is still empty, fail to decode it, and the
message (a job!) is lost. It also "claims" a file by moving it to the system temp folder, which is
a copy, not a rename, when /tmp is another filesystem. Here a producer writes a hidden temporary
file and renames it into place, and a consumer claims a file by renaming it into the broker's own
`processed` folder (same filesystem), reads it and deletes it. Renames are atomic on POSIX, so a
message is seen whole by exactly one consumer.
"""
from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from queue import Empty


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"  # padded: sorts FIFO
        # Starts with '.', so readers (which match "<stamp>_<uuid>.<queue>.msg") never pick it up.
        partial = os.path.join(self.data_folder_out, f".partial-{name}")
        with open(partial, "wb") as handle:
            handle.write(str_to_bytes(dumps(payload)))
        os.replace(partial, os.path.join(self.data_folder_out, name))

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            finally:
                os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel


WAITING_SCAN_LIMIT = 10_000  # messages read per queue at most; beyond that the reaper uses its long grace


def waiting_task_ids(app, queues) -> set[str] | None:
    """Ids of the task messages waiting in the broker's `queues` (not yet taken by any worker), on
    Redis or the embedded broker; None when the broker cannot be read (down, another transport, or
    more messages than WAITING_SCAN_LIMIT). What the reaper needs to tell a job whose message waits
    from one whose message a worker dropped (job_recovery.requeue_lost)."""
    found: set[str] = set()
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)
            channel = connection.default_channel
            if isinstance(channel, Channel):
                payloads = _folder_payloads(channel, queues)
            elif hasattr(channel, "_q_for_pri") and hasattr(channel, "client"):
                payloads = _redis_payloads(channel, queues)
            else:
                return None
            if payloads is None:
                return None
            for payload in payloads:
                headers = (loads(bytes_to_str(payload)) or {}).get("headers") or {}
                if headers.get("id"):
                    found.add(str(headers["id"]))
    except Exception:  # the broker is down or unreadable: the caller falls back to its long grace
        return None
    return found


def _folder_payloads(channel: Channel, queues) -> list[bytes] | None:
    wanted = {f"{queue}.msg" for queue in queues}
    names = [name for name in os.listdir(channel.data_folder_in)
             if not name.startswith(".") and name.partition(".")[2] in wanted]
    if len(names) > WAITING_SCAN_LIMIT:
        return None
    payloads = []
    for name in names:
        try:
            with open(os.path.join(channel.data_folder_in, name), "rb") as handle:
                payloads.append(handle.read())
        except FileNotFoundError:
            continue  # a consumer claimed it meanwhile
    return payloads


def _redis_payloads(channel, queues) -> list[bytes] | None:
    client = channel.client  # prefixes keys itself when a global_keyprefix is configured
    payloads = []
    for queue in queues:
        for priority in channel.priority_steps:
            key = channel._q_for_pri(queue, priority)
            if client.llen(key) > WAITING_SCAN_LIMIT:
                return None
            payloads += client.lrange(key, 0, WAITING_SCAN_LIMIT)
    return payloads
