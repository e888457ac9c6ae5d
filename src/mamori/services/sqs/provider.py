"""Amazon SQS: every operation of the API, JSON and query protocols.

The provider is assembled from one module per family of operations:

    queues.py       create/get/delete/list queues, attributes (redrive and redrive-allow
                    policies validated), dead-letter source queues, tags, permissions
    messages.py     send (+batch), receive (long polling on the clock), delete (+batch),
                    change visibility (+batch), purge
    move_tasks.py   start/list/cancel message move tasks (DLQ redrive), on the scheduler
    encryption.py   messages at rest: plain, SSE-SQS (root key) or SSE-KMS (data keys from
                    KMS on the caller's behalf)
    waiters.py      long-polling receives waiting for a send or a clock change
    common.py       queue lookup by URL, authorization with the queue policy, errors

Queues are documents in the resource store; messages, FIFO deduplication ids and move
tasks are in the queue store (store/queues.py), indexed so a receive reads only what it
returns. The query protocol (Action=SendMessage form posts, XML answers) uses the model
with the query traits SQS had before it moved to JSON (protocol/patches/sqs.query.json).
"""

from __future__ import annotations

import threading

from mamori.services.base import Provider
from mamori.services.sqs.common import QueueAccess
from mamori.services.sqs.encryption import Sealer
from mamori.services.sqs.messages import MessageOperations
from mamori.services.sqs.move_tasks import MoveTaskOperations
from mamori.services.sqs.queues import QueueOperations
from mamori.services.sqs.waiters import Waiters


class SqsProvider(QueueOperations, MessageOperations, MoveTaskOperations, QueueAccess, Provider):
    service = "sqs"

    def __init__(self, runtime) -> None:  # noqa: ANN001 - the Runtime
        super().__init__(runtime)
        from mamori.store.queues import QueueStore

        self.qstore = QueueStore.open(runtime.data_dir)
        self.sealer = Sealer(runtime)
        self.waiters = Waiters()
        self._move_lock = threading.RLock()
        self._move_job = None

    def setup(self) -> None:
        # A clock change may make messages visible or end a long poll.
        self.runtime.clock.on_change(self.waiters.notify_all)
        if self.qstore.tasks(status="RUNNING", limit=1):  # tasks running before a restart go on
            self.arm_move_tasks()

    def reset(self) -> None:
        self.qstore.reset()
        self.sealer.reset()
        self.waiters.notify_all()
