-- The callback task a call in progress was placed for (crossbar_cdr's RecorderOutput::Callback),
-- so that its record counts an attempt on the task even if crossbar stops before the call
-- ends (Store::finish_interrupted); NULL for other calls.
ALTER TABLE active_calls ADD COLUMN callback_task INTEGER;
