"""The training engine: batching, optimization, checkpoints, events, devices."""
