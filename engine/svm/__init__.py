"""The venues' programs, run as bytecode in solders.litesvm."""
