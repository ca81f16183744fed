-- The W3C traceparent of the change that appended each event (NULL when that change was
-- not traced): the frame carries it, so the agent applying the event continues the trace.
ALTER TABLE stream_events ADD COLUMN traceparent text;
