"""Partners, their clients, the catalogue and the partner panel."""
