"""The commands beside the server: the terminal client (cli), `keys` and `programs`."""
