-- The callback task a call was placed for (crossbar_cdr::CallRecord::callback_task: a
-- callback originated from the API, the CLI or the retry schedule); NULL for other calls.
-- Storing the record also records the call as an attempt on the task (callback_attempts), in
-- the same transaction.
ALTER TABLE calls ADD COLUMN callback_task BIGINT;
CREATE INDEX calls_callback_task ON calls (callback_task) WHERE callback_task IS NOT NULL;
