"""Each platform's durable ordered stream: append in the change's transaction, read by sequence."""
