"""Models of the stack, each built once per run (cached on the Repo) and shared by rules."""
