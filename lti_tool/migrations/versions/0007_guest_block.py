"""guest_block and guest.browser_hash: "Remove and block" keeps a removed guest out of the room until the session ends

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "guest_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_guest_block_room_id_room"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_block")),
    )
    with op.batch_alter_table("guest_block", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guest_block_room_id"), ["room_id"], unique=False)


def downgrade():
    with op.batch_alter_table("guest_block", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guest_block_room_id"))
    op.drop_table("guest_block")
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.drop_column("browser_hash")
