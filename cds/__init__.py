"""Clinical decision support: what happens to one note (schemas, model, guardrails, pipeline)."""

__version__ = "0.1.0"
