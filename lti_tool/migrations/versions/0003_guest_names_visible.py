"""room.guest_names_visible: whether guests see every participant's name (off by default)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("room", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guest_names_visible", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("room", schema=None) as batch_op:
        batch_op.drop_column("guest_names_visible")
