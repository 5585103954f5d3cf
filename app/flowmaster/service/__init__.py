"""The FlowMaster process-management service: FastAPI around the pure core in flowmaster.processes
and flowmaster.rules, with PostgreSQL (through pgbouncer), the Redis cluster and Kafka.

Entry points: `flowmaster.service.app:create_app(settings)`, and the commands `flowmaster serve`,
`flowmaster migrate`, `flowmaster relay`, `flowmaster create-user`.
"""
