"""What an admin pastes into Sakai's External Tools form, labelled as Sakai labels the fields."""

from __future__ import annotations

from dataclasses import dataclass

GALLERY_CUSTOM = "room_type=mediagallery"


@dataclass(frozen=True)
class ToolUrls:
    launch: str
    login: str
    keyset: str
    register: str

    @classmethod
    def of(cls, runtime) -> ToolUrls:
        return cls(
            launch=runtime.launch_url,
            login=runtime.url("/lti/login"),
            keyset=runtime.url("/lti/jwks"),
            register=runtime.url("/lti/register"),
        )

    def sakai_form(self) -> list[tuple[str, str]]:
        """(Sakai's field label, value). Sakai posts the id_token to the redirect endpoint only if it is
        listed, else to the target link URI; both are the launch URL, so either way works."""
        return [
            ("Launch URL / Target Link URI", self.launch),
            ("Tool OpenID Connect/Initialization Endpoint", self.login),
            ("Tool Redirect Endpoint(s)", self.launch),
            ("LTI 1.3 Tool Keyset URL", self.keyset),
        ]
