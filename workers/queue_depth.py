"""How many messages wait in each queue, read from the broker itself (Flower users ask for this).

Redis: LLEN of kombu's list keys for the queue (one per priority step; kombu's client adds the
configured `global_keyprefix` itself). Embedded filesystem broker (workers.broker): the message files
of the queue in the queue folder. Messages a worker has taken (prefetched or running) are not waiting.
"""
from __future__ import annotations

import os

from workers.broker import Channel


def queue_depths(app, queues) -> dict[str, int | None]:
    """{queue: waiting messages}; every value None when the broker cannot be read."""
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel = connection.default_channel
            if isinstance(channel, Channel):
                return _folder_depths(channel.data_folder_in, queues)
            if hasattr(channel, "_q_for_pri") and hasattr(channel, "client"):
                client = channel.client
                return {queue: int(sum(client.llen(channel._q_for_pri(queue, priority))
                                       for priority in channel.priority_steps)) for queue in queues}
    except Exception:  # the broker is down: the health view reports that separately
        pass
    return {queue: None for queue in queues}


def _folder_depths(folder: str, queues) -> dict[str, int]:
    counts = {queue: 0 for queue in queues}
    suffixes = {f"{queue}.msg": queue for queue in queues}
    for name in os.listdir(folder):
        if name.startswith("."):
            continue  # a message still being written (workers.broker writes hidden files first)
        queue = suffixes.get(name.partition(".")[2])
        if queue is not None:
            counts[queue] += 1
    return counts
