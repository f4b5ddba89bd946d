"""Domain logic. Services take plain values, validate, change the store through one transaction
owner (`unit_of_work`) and raise typed errors (`dashapp.services.errors`). No Dash, no Celery."""
