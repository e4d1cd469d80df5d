"""The persona suite: scripted workers played end to end over the real HTTP paths (a package, so its
conftest is `personas.conftest` and never shadows the suite's own `conftest`)."""
