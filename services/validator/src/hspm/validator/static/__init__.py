"""The static phase: the reference, the registry and the declarations judged without running anything."""
