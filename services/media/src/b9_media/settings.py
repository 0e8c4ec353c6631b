"""Media service settings (environment variables, read once)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

import msgspec
from b9_common.settings import CommonSettings, ConfigError, require_url
from yarl import URL

DEFAULT_HOSTS = "*.cdninstagram.com,*.fbcdn.net"
Origin = tuple[str, str, int]  # scheme, IP address (normalised), port


def parse_origin(text: str) -> Origin:
    """``http://127.0.0.1:8123`` -> ("http", "127.0.0.1", 8123). Only an IP literal with an explicit
    port and nothing else: a name could resolve anywhere, and the exemption is for one server."""
    url = URL(text)
    if url.scheme not in ("http", "https") or not url.host or url.explicit_port is None:
        raise ValueError(f"{text!r}: want scheme://IP:port (http or https, an explicit port)")
    if url.user or url.password or url.path not in ("", "/") or url.query_string or url.fragment:
        raise ValueError(f"{text!r}: an origin only (no credentials, path or query)")
    try:
        ip = ipaddress.ip_address(url.host)
    except ValueError:
        raise ValueError(f"{text!r}: the host must be an IP address, not a name") from None
    return url.scheme, str(ip), url.explicit_port


def _default_store() -> str:
    return (Path.cwd() / ".b9" / "media").as_uri()


class Settings(CommonSettings, kw_only=True):  # type: ignore[call-arg, unused-ignore]
    media_store_url: str = msgspec.field(default_factory=_default_store)
    s3_endpoint_url: str = ""
    aws_region: str = ""
    media_public_base_url: str = ""
    # Download safety. The two switches below exist for tests on loopback only.
    media_allowed_hosts: str = DEFAULT_HOSTS
    media_allow_private_addresses: bool = False
    media_allow_http: bool = False
    # CIDRs exempted from the address check (tests: "127.0.0.1/32"), narrower than the switch above.
    media_allowed_networks: str = ""
    # Exact origins fetched as they are (http and a private address allowed for that scheme, IP
    # and port only): `b9 up` names its seed media origin here, http://127.0.0.1:<port>.
    media_allowed_origins: str = ""
    media_max_redirects: int = 5
    media_max_image_bytes: int = 25_000_000
    media_max_video_bytes: int = 250_000_000
    media_image_download_timeout: float = 30.0
    media_video_download_timeout: float = 120.0
    media_download_concurrency: int = 8
    media_upload_concurrency: int = 8
    # Images.
    media_max_pixels: int = 100_000_000
    media_photo_max_edge: int = 1080
    media_profile_max_edge: int = 320
    media_photo_max_bytes: int = 300_000
    media_profile_max_bytes: int = 200_000
    media_image_format: Literal["jpeg", "webp"] = "jpeg"
    media_image_quality: int = 82
    media_image_min_quality: int = 30
    media_image_workers: int = 2
    # Videos.
    ffmpeg_binary: str = ""
    media_video_max_edge: int = 720  # the shorter side: 720p
    media_video_target_bytes: int = 1_500_000
    media_video_max_seconds: float = 900.0
    media_video_timeout: float = 300.0
    media_video_preset: str = "veryfast"

    def validate(self) -> None:
        super().validate()
        require_url("MEDIA_STORE_URL", self.media_store_url, ("file", "s3"))
        if self.media_store_url.startswith("file://") and not self.media_store_url.startswith(
            "file:///"
        ):
            raise ConfigError("MEDIA_STORE_URL", "file store URL must be file:///absolute/path")
        if self.s3_endpoint_url:
            require_url("S3_ENDPOINT_URL", self.s3_endpoint_url, ("http", "https"))
        if not self.allowed_hosts():
            raise ConfigError("MEDIA_ALLOWED_HOSTS", "must name at least one host pattern")
        try:
            self.allowed_networks()
        except ValueError as exc:
            raise ConfigError("MEDIA_ALLOWED_NETWORKS", str(exc)) from None
        try:
            self.allowed_origins()
        except ValueError as exc:
            raise ConfigError("MEDIA_ALLOWED_ORIGINS", str(exc)) from None
        for name in (
            "media_max_image_bytes",
            "media_max_video_bytes",
            "media_max_pixels",
            "media_photo_max_edge",
            "media_profile_max_edge",
            "media_photo_max_bytes",
            "media_profile_max_bytes",
            "media_image_workers",
            "media_video_max_edge",
            "media_video_target_bytes",
            "media_download_concurrency",
            "media_upload_concurrency",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(name.upper(), "must be a positive number")
        if not 1 <= self.media_image_min_quality <= self.media_image_quality <= 100:
            raise ConfigError("MEDIA_IMAGE_QUALITY", "must be within MEDIA_IMAGE_MIN_QUALITY..100")

    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.media_allowed_hosts.split(",") if h.strip())

    def allowed_origins(self) -> tuple[Origin, ...]:
        return tuple(parse_origin(o.strip()) for o in self.media_allowed_origins.split(",") if o.strip())

    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(n.strip(), strict=False)
            for n in self.media_allowed_networks.split(",")
            if n.strip()
        )
