"""Alembic environment: runs migrations on the engine the application hands over."""

from alembic import context

from storage.models import Base

engine = context.config.attributes["connection_engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
