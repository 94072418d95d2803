"""Repository checks: what the repository ships agrees with the code (docs, samples, the OLM
bundle, config/, the Dockerfile, generated YAML), and the shape of the code itself."""
