"""The on-disk index: immutable segments, stored fields, commit manifests, the writer lock, the
writer's buffer and parallel analysis, merges and integrity checks."""
