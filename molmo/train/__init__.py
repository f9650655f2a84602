"""Training: DeepSpeed engine, per-component optimisation, schedules, checkpoints, the loop."""
