"""RQ jobs: module-level functions that take ids and are idempotent."""

# Every mapped class must be known before the first flush in a worker process (foreign
# keys between domains resolve through the shared metadata).
import gateway.models  # noqa: F401
