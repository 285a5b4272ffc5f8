"""PostgreSQL with a bound on the connections one server process opens (see ``base``)."""
