"""JetStream plumbing: stream topology, publishing, pull consumers, delivery outcomes,
dead letters, KV keys and NATS auth."""
