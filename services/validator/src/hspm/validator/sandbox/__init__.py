"""The runtime phase: the image run under runc in a sandbox, and the rules judged from what it does."""
