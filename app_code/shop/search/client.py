"""The OpenSearch client: HTTPS to the domain's VPC endpoint, every request signed with SigV4.

The domain admits only the roles its access policy names (components/search.py), so requests are
signed with the task's or function's role credentials (refreshed by botocore as they rotate).
`SEARCH_SIGV4=false` and an `http://` endpoint exist for the local stand-in only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from opensearchpy import OpenSearch, Urllib3HttpConnection
from opensearchpy.helpers.signer import Urllib3AWSV4SignerAuth

from shop.settings import ConfigurationError, Settings

SERVICE = "es"  # the SigV4 service name of OpenSearch Service domains


def endpoint_url(endpoint: str) -> tuple[str, int, bool]:
    """(host, port, tls) of SEARCH_ENDPOINT: a bare host name means HTTPS on 443."""
    if "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigurationError(f"SEARCH_ENDPOINT={endpoint!r} must be a host name or an "
                                 "http(s)://host:port URL")
    tls = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if tls else 80), tls


def connect(settings: Settings, *, timeout: float = 2.0, credentials: Any = None) -> OpenSearch | None:
    """The client the settings describe, or None when SEARCH_ENDPOINT is not set."""
    if not settings.search_endpoint:
        return None
    host, port, tls = endpoint_url(settings.search_endpoint)
    auth = None
    if settings.search_sigv4:
        if credentials is None:
            import boto3

            credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise ConfigurationError("no AWS credentials to sign search requests with")
        auth = Urllib3AWSV4SignerAuth(credentials, settings.require("region"), SERVICE)
    return OpenSearch(hosts=[{"host": host, "port": port}], http_auth=auth, use_ssl=tls, verify_certs=tls,
                      ssl_show_warn=False, connection_class=Urllib3HttpConnection, timeout=timeout,
                      max_retries=1, retry_on_timeout=False, http_compress=False, pool_maxsize=32)
