"""TCP reassembly per direction, and flow identifiers."""
