"""login state travels in the signed `state` parameter: drop the login_state table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("login_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_state_expires_at"))
    op.drop_table("login_state")


def downgrade():
    op.create_table(
        "login_state",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("login_params", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_login_state")),
    )
    with op.batch_alter_table("login_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_state_expires_at"), ["expires_at"], unique=False)
