"""The terminal client and TLS: the engine speaks plain http, and TLS is a proxy's in front of
it (docs/security.md). A client that asks the engine itself over https, or meets a certificate
this machine does not trust, is told which it is and what to do, not that no engine is there."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from fake_servers import serving

from engine.commands import cli
from engine.testing import EngineHarness


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (made here, never kept)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl here to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_proxy(target: str, cert: Path, key: Path) -> AbstractAsyncContextManager[str]:
    """A TLS-terminating proxy in front of `target` (GET only: enough for `quote`)."""
    async def forward(request: web.Request) -> web.Response:
        async with aiohttp.ClientSession() as session, \
                session.get(target + request.path_qs) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type=resp.content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", forward)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return serving(app, context)


async def quote(capsys: pytest.CaptureFixture[str], url: str) -> tuple[int, str]:
    code = await asyncio.to_thread(cli.main, ["quote", "SOL", "USDC", "1", "--url", url])
    return code, capsys.readouterr().err


async def test_the_engine_asked_over_https_says_it_speaks_plain_http(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = await quote(capsys, order_engine.url.replace("http://", "https://"))
    assert code == 3
    assert err.startswith("no TLS at https://127.0.0.1:") and "plain http" in err


async def test_an_untrusted_certificate_is_said_with_how_to_trust_it(
        order_engine: EngineHarness, certificate: tuple[Path, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    async with tls_proxy(order_engine.url, *certificate) as url:
        code, err = await quote(capsys, url)
    assert code == 3
    assert "is not one this machine trusts (self-signed certificate)" in err
    assert "set SSL_CERT_FILE" in err and "no engine" not in err


async def test_with_its_certificate_trusted_the_client_goes_through_the_proxy(
        order_engine: EngineHarness, certificate: tuple[Path, Path]) -> None:
    async with tls_proxy(order_engine.url, *certificate) as url:
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "engine", "quote", "SOL", "USDC", "1",
                             "--url", url], env={**os.environ, "SSL_CERT_FILE": str(certificate[0])},
            capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "USDC per SOL" in done.stdout
