"""JetStream plumbing: stream topology, publishing, pull consumers, delivery outcomes, dead
letters, KV keys, NATS auth, nats-py's internals (natsio) and the AsyncAPI document."""
