"""Extra commands (replay, dlq, seed) register themselves on the app here."""
