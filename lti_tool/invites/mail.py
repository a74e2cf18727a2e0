"""The one client of the SMTP server (config.json `mail`): builds the invitation email and sends it.

Timeouts, STARTTLS, login and the server's refusals are handled here; the rest of the feature only
asks "send this invitation" and hears back None (sent) or a reason in plain words. Nothing here logs
an address or a link.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from markupsafe import escape

from ..config import MailSettings

log = logging.getLogger(__name__)
TIMEOUT = 10
ROLE_LABELS = {"viewer": "Viewer", "speaker": "Speaker", "moderator": "Moderator"}
ROLE_POWERS = {
    "viewer": "watch and chat",
    "speaker": "watch, chat and speak with your camera and microphone",
    "moderator": "watch, chat, speak, admit guests and moderate who speaks",
}
SEND_FAILED = "The email could not be sent. Check the address, or try again later."
SERVER_DOWN = "The mail server could not be reached. Try again later."


@dataclass(frozen=True)
class InvitationMail:
    invitation_id: str
    room_id: str
    to_name: str
    to_address: str
    room_title: str
    inviter_name: str
    role: str
    url: str
    expires_on: str | None  # a date in words, or None for no expiry


def invitation_text(mail: InvitationMail) -> str:
    """The plain-text invitation: the email's text part, and what "Copy invitation" copies."""
    lines = [
        f"Hello {mail.to_name},",
        "",
        f"{mail.inviter_name} invites you to join “{mail.room_title}” as {ROLE_LABELS[mail.role]}:",
        f"you can {ROLE_POWERS[mail.role]}.",
        "",
        "Join with your personal link (do not share it):",
        mail.url,
        "",
    ]
    if mail.expires_on:
        lines.append(f"The link works until {mail.expires_on}.")
    return "\n".join(lines).rstrip() + "\n"


def _html(mail: InvitationMail) -> str:
    e = escape
    expiry = f"<p>The link works until {e(mail.expires_on)}.</p>" if mail.expires_on else ""
    return (
        '<!doctype html><html lang="en"><body>'
        f"<p>Hello {e(mail.to_name)},</p>"
        f"<p>{e(mail.inviter_name)} invites you to join <strong>{e(mail.room_title)}</strong> as "
        f"{e(ROLE_LABELS[mail.role])}: you can {e(ROLE_POWERS[mail.role])}.</p>"
        f'<p><a href="{e(mail.url)}">Join {e(mail.room_title)}</a></p>'
        f"<p>Or copy this personal link into your browser (do not share it):<br>{e(mail.url)}</p>"
        f"{expiry}</body></html>"
    )


def build_message(settings: MailSettings, mail: InvitationMail) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Invitation: {mail.room_title}"
    message["From"] = settings.sender
    message["To"] = mail.to_address
    message["Message-ID"] = make_msgid(domain=settings.sender.rsplit("@", 1)[-1].strip("> "))
    message.set_content(invitation_text(mail))
    message.add_alternative(_html(mail), subtype="html")
    return message


def send(settings: MailSettings, mail: InvitationMail) -> str | None:
    """Send one invitation; None when the server accepted it, else why not (for the dialog's row)."""
    message = build_message(settings, mail)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            refused = smtp.send_message(message)
    except (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected) as exc:
        log.warning("invitation email: mail server unreachable", extra={"reason": type(exc).__name__})
        return SERVER_DOWN
    except smtplib.SMTPException as exc:  # refused: a recipient, the sender, the login, the data
        log.warning("invitation email refused", extra={"reason": type(exc).__name__})
        return SEND_FAILED
    except OSError as exc:  # connection refused, DNS, timeout, TLS
        log.warning("invitation email: mail server unreachable", extra={"reason": type(exc).__name__})
        return SERVER_DOWN
    if refused:
        log.warning("invitation email refused", extra={"reason": "recipient_refused"})
        return SEND_FAILED
    return None
