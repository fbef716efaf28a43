"""The language model: base-model preparation, SFT/DPO data, QLoRA training, constrained
generation. Heavy libraries (torch, transformers, peft, trl, outlines) are imported inside the
functions that need them, so `cds --help` stays fast."""
