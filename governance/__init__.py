"""What regulators and privacy officers need: de-identification, lineage, hazards, the PDF pack."""
