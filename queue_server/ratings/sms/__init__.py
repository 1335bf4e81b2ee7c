"""SMS: the gateways (outbox, HTTP provider, SMPP 3.4) and the sender that drains the outbox."""
