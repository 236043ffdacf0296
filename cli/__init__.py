"""burn.cli: the command line. Each command parses, calls one library function, renders."""
