"""Message move tasks: redrive a dead-letter queue back to its source queues or to another
queue, at a rate, on the mamori clock.

    start_message_move_task   SourceArn must be a dead-letter queue of some queue;
                              DestinationArn optional (default: each message's
                              DeadLetterQueueSourceArn); MaxNumberOfMessagesPerSecond 1..500
                              (default: 500, AWS's "system optimized" upper bound)
    list_message_move_tasks   most recent first, MaxResults 1..10 (default 1); TaskHandle only
                              while RUNNING
    cancel_message_move_task  RUNNING -> CANCELLED, answers the count moved so far

A task moves the messages that were in the queue when it started (ApproximateNumberOf
MessagesToMove), a second's worth per second of clock time: a scheduler job ticks each
second while a task runs (and catches up when the clock is advanced). Messages in flight
in the source are left until they are visible again. A destination that no longer exists fails the
task (FAILED, FailureReason). Tasks are kept in the queue store, so they survive a restart.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from mamori.errors import error
from mamori.gateway.context import RequestContext, with_resource_policy
from mamori.services.sqs.common import invalid_value
from mamori.store.queues import StoredMessage

DEFAULT_RATE = 500


def _missing(what: str = "SourceArn") -> Exception:
    return error("ResourceNotFoundException", f"The resource that you specified for the {what} parameter doesn't "
                 "exist.", status=404)


class MoveTaskOperations:
    """Mixed into the provider (qstore, waiters, _sources_of())."""

    runtime: Any

    def _queue_by_arn(self, ctx: RequestContext, arn: Any, what: str) -> dict[str, Any]:
        doc = ctx.store.get(arn) if isinstance(arn, str) and arn.startswith("arn:aws:sqs:") else None
        if doc is None:
            raise _missing(what)
        return doc

    def _allow(self, ctx: RequestContext, action: str, doc: dict[str, Any]) -> None:
        tags = {f"aws:ResourceTag/{k}": v for k, v in (doc.get("tags") or {}).items()}
        ctx.authorize(action, doc["arn"], with_resource_policy(tags, doc["attributes"].get("Policy") or None,
                                                              account=doc["account"]))

    def start_message_move_task(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        source = self._queue_by_arn(ctx, request.get("SourceArn"), "SourceArn")
        ctx.resources = [{"ARN": source["arn"], "accountId": source["account"], "type": "AWS::SQS::Queue"}]
        # the caller needs to read and delete from the DLQ and send to the destination
        # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html
        for action in ("sqs:StartMessageMoveTask", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                       "sqs:GetQueueAttributes"):
            self._allow(ctx, action, source)
        rate = request.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= 500:
            raise invalid_value("MaxNumberOfMessagesPerSecond", rate, "Must be between 1 and 500, if provided.")
        sources = self._sources_of(ctx, source["arn"])
        if not sources:
            raise invalid_value("SourceArn", source["arn"], "Source queue must be configured as a Dead Letter Queue.")
        destination_arn = request.get("DestinationArn")
        targets = sources
        if destination_arn is not None:
            destination = self._queue_by_arn(ctx, destination_arn, "DestinationArn")
            if destination["arn"] == source["arn"]:
                raise invalid_value("DestinationArn", destination_arn, "Source and destination queues are the same.")
            if destination["fifo"] != source["fifo"]:
                raise invalid_value("DestinationArn", destination_arn, "Destination queue must be same type of "
                                    "queue as the source.")
            targets = [destination]
        for target in targets:
            self._allow(ctx, "sqs:SendMessage", target)
        if self.qstore.tasks(source["arn"], status="RUNNING", limit=1):
            raise error("UnsupportedOperation", "There is already a task running. Only one active task is allowed "
                        "for a source queue arn at a given time.", status=400)
        task_id = str(uuid.uuid4())
        handle = base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source["arn"]}).encode()).decode()
        now = ctx.time()
        count, last_seq = self.qstore.extent(source["arn"])
        task = {"TaskHandle": handle, "Status": "RUNNING", "SourceArn": source["arn"],
                "ApproximateNumberOfMessagesMoved": 0, "ApproximateNumberOfMessagesToMove": count,
                "StartedTimestamp": int(now * 1000), "_lastSeq": last_seq,
                "_account": ctx.account_id, "_region": ctx.region}
        if destination_arn is not None:
            task["DestinationArn"] = destination_arn
        if rate is not None:
            task["MaxNumberOfMessagesPerSecond"] = rate
        self.qstore.put_task(handle, source["arn"], "RUNNING", now, task)
        self.arm_move_tasks()
        return {"TaskHandle": handle}

    def list_message_move_tasks(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        source = self._queue_by_arn(ctx, request.get("SourceArn"), "SourceArn")
        ctx.resources = [{"ARN": source["arn"], "accountId": source["account"], "type": "AWS::SQS::Queue"}]
        self._allow(ctx, "sqs:ListMessageMoveTasks", source)
        limit = request.get("MaxResults")
        if limit is None:
            limit = 1
        if not 1 <= limit <= 10:
            raise invalid_value("MaxResults", limit, "Must be between 1 and 10, if provided.")
        out = []
        for task in self.qstore.tasks(source["arn"], limit=limit):
            entry = {k: v for k, v in task.items() if not k.startswith("_")}
            if entry["Status"] != "RUNNING":
                entry.pop("TaskHandle", None)
            out.append(entry)
        return {"Results": out}

    def cancel_message_move_task(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        handle = request.get("TaskHandle") or ""
        task = self.qstore.get_task(handle)
        if task is None:
            try:
                source_arn = json.loads(base64.b64decode(handle, validate=True))["sourceArn"]
            except Exception:  # noqa: BLE001 - not a handle of ours at all
                source_arn = "*"
            ctx.authorize("sqs:CancelMessageMoveTask", source_arn, {})
            raise _missing("TaskHandle")
        source = ctx.store.get(task["SourceArn"]) or {"arn": task["SourceArn"], "attributes": {},
                                                     "account": ctx.account_id}
        self._allow(ctx, "sqs:CancelMessageMoveTask", source)
        if task["Status"] != "RUNNING":
            raise error("ResourceNotFoundException", "Task does not exist or is not in RUNNING status.", status=404)
        task["Status"] = "CANCELLED"
        self.qstore.put_task(handle, task["SourceArn"], "CANCELLED", task["StartedTimestamp"] / 1000, task)
        return {"ApproximateNumberOfMessagesMoved": task["ApproximateNumberOfMessagesMoved"]}

    # -- the scheduler's tick -----------------------------------------------------------

    def arm_move_tasks(self) -> None:
        """Tick each second of clock time while some task runs (only then: a clock advanced
        by days would otherwise run an idle job for every second of it)."""
        with self._move_lock:
            if self._move_job is not None:
                return
        # registered outside our lock: the scheduler holds its own lock while jobs run
        job = self.runtime.scheduler.every(1.0, self.run_move_tasks, "sqs-message-move-tasks")
        with self._move_lock:
            if self._move_job is None:
                self._move_job = job
                return
        self.runtime.scheduler.cancel(job)

    def run_move_tasks(self, due: float) -> None:
        """Move one second's worth of messages for every running task."""
        with self._move_lock:
            running = self.qstore.tasks(status="RUNNING")
            if not running:
                if self._move_job is not None:
                    self.runtime.scheduler.cancel(self._move_job)
                    self._move_job = None
                return
        for task in running:
            self._advance_task(task, due)

    def _advance_task(self, task: dict[str, Any], now: float) -> None:
        store, qstore = self.runtime.store, self.qstore
        source_arn = task["SourceArn"]
        budget = task.get("MaxNumberOfMessagesPerSecond") or DEFAULT_RATE
        touched: set[str] = set()
        with qstore.transaction():
            if store.get(source_arn) is None:
                task.update(Status="FAILED", FailureReason="AWS.SimpleQueueService.NonExistentQueue")
            else:
                batch = [m for m in qstore.oldest(source_arn, budget * 4) if m.seq <= task["_lastSeq"]]
                movable = [m for m in batch if m.available <= now][:budget]  # in flight: later
                for msg in movable:
                    target_arn = task.get("DestinationArn") or msg.source
                    if not target_arn or store.get(target_arn) is None:
                        task.update(Status="FAILED", FailureReason="AWS.SimpleQueueService.NonExistentQueue")
                        break
                    qstore.delete(source_arn, msg.id)
                    qstore.insert(StoredMessage(target_arn, msg.id, qstore.next_seq(target_arn), now, msg.sent, None,
                                                msg.grp, 0, None, None, msg.blob, msg.key))
                    task["ApproximateNumberOfMessagesMoved"] += 1
                    touched.add(target_arn)
                rest = qstore.oldest(source_arn, 1)
                if task["Status"] == "RUNNING" and (not rest or rest[0].seq > task["_lastSeq"]):
                    task["Status"] = "COMPLETED"
            qstore.put_task(task["TaskHandle"], source_arn, task["Status"], task["StartedTimestamp"] / 1000, task)
        for arn in touched:
            self.waiters.notify(arn)
