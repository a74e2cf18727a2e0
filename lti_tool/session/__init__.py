"""The live session of a room: start/end, stage, presence, chat, raised hands, and the one state poll."""
