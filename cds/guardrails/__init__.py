"""Input and output rails around the model, and calibration of its confidences. Every rail
returns a `GuardrailDecision`; `run_rail` makes any failure fail closed."""
