"""b9 gateway service: the HTTP API over the read model, commands and the control KV."""

__version__ = "0.1.0"
