"""De-identification: presidio-based PHI detection, surrogate anonymisation, residual scan,
PHI report and the evaluation harness."""
