"""Live audio and video on a Janus media server (VideoRoom): signaling, rules, config, process."""
