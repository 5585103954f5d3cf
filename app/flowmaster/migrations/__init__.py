"""Alembic migrations of the process-management service (alembic.ini lives here, inside the
package, so an installed wheel can migrate: `flowmaster migrate`)."""
