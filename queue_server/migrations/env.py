from alembic import context
from sqlalchemy import create_engine

import queue_server.tables  # noqa: F401  (all tables on the metadata)
from queue_server.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` run by hand: -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///var/hall.db")
    with create_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
