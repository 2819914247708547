"""The embedded development stack (`make run`)."""
