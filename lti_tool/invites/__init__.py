"""Personal invitations: one named person, one role (viewer, speaker, moderator), one capability link."""
