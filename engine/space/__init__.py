"""Where things are: grids by their boundaries and frontage holders by address, looked up per event."""
