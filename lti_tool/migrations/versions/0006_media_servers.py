"""several Janus servers: media_room.server (the room's placement), media_server (health)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("media_room", schema=None) as batch_op:
        batch_op.add_column(sa.Column("server", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_media_room_server"), ["server"], unique=False)
    op.create_table(
        "media_server",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("ok_at", sa.DateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("down_since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_media_server")),
    )


def downgrade():
    op.drop_table("media_server")
    with op.batch_alter_table("media_room", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_room_server"))
        batch_op.drop_column("server")
