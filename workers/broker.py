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
