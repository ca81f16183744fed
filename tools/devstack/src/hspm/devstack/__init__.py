"""The local stack: every service as a process, with demo data, on one machine."""
