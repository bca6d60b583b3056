"""How an engine process lives beside its state files and its peers: one process per file,
older file names adopted, several processes on one port and one shared PostgreSQL store."""
