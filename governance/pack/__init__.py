"""The regulatory documentation pack: its data (`contents.py`, the JSON twin) and its PDF
(`render.py`). Every number comes from an artifact of the run; the pack names their hashes."""
