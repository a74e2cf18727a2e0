"""personal invitations with a role: invitation; guest.invitation_id, guest.invite_role

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "invitation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("mail_status", sa.String(length=16), nullable=False),
        sa.Column("invited_by", sa.String(length=255), nullable=False),
        sa.Column("invited_by_name", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'speaker', 'moderator')", name=op.f("ck_invitation_role_known")),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_invitation_room_id_room"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_invitation_room_status", ["room_id", "status"], unique=False)
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invitation_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("invite_role", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_guest_invitation_id"), ["invitation_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_guest_invitation_id_invitation"), "invitation", ["invitation_id"], ["id"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_guest_invitation_id_invitation"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_guest_invitation_id"))
        batch_op.drop_column("invite_role")
        batch_op.drop_column("invitation_id")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_room_status")
        batch_op.drop_index(batch_op.f("ix_invitation_created_at"))
    op.drop_table("invitation")
