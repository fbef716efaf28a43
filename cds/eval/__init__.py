"""`cds eval`: the full pipeline on a labelled set, with baselines, subgroups and CIs."""
