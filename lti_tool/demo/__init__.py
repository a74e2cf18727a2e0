"""The demo LMS: a tiny Sakai-like platform at /demo, for trying the tool without Sakai.

Enabled only by the Run command or LTI_TOOL_DEMO=1, and only on a loopback base URL.
"""
