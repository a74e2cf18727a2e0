"""live audio and video (Janus): media_room, media_member, media_peer; guest_link.guests_can_speak

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-02 18:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("guest_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guests_can_speak", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "media_room",
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("janus_room", sa.BigInteger(), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("pin", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_media_room_room_id_room"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_media_room")),
        sa.UniqueConstraint("janus_room", name=op.f("uq_media_room_janus_room")),
    )
    op.create_table(
        "media_member",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("participant_key", sa.String(length=300), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("guest_id", sa.String(length=32), nullable=True),
        sa.Column("speak", sa.Boolean(), nullable=True),
        sa.Column("audio_muted", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["room.id"], name=op.f("fk_media_member_room_id_room"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_member")),
        sa.UniqueConstraint("room_id", "participant_key", name=op.f("uq_media_member_room_id_participant_key")),
    )
    op.create_table(
        "media_peer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("room_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=True),
        sa.Column("feed_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_peer_id", sa.String(length=32), nullable=True),
        sa.Column("janus_session", sa.BigInteger(), nullable=False),
        sa.Column("janus_handle", sa.BigInteger(), nullable=False),
        sa.Column("audio_mid", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["media_member.id"], name=op.f("fk_media_peer_member_id_media_member"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["room.id"], name=op.f("fk_media_peer_room_id_room"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_peer")),
    )
    with op.batch_alter_table("media_peer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_peer_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_media_peer_room_kind", ["room_id", "kind"], unique=False)


def downgrade():
    with op.batch_alter_table("media_peer", schema=None) as batch_op:
        batch_op.drop_index("ix_media_peer_room_kind")
        batch_op.drop_index(batch_op.f("ix_media_peer_member_id"))
    op.drop_table("media_peer")
    op.drop_table("media_member")
    op.drop_table("media_room")
    with op.batch_alter_table("guest_link", schema=None) as batch_op:
        batch_op.drop_column("guests_can_speak")
