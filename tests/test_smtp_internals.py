"""listeners/smtp.py overrides private parts of aiosmtpd's SMTP protocol.

pyproject pins aiosmtpd below the next minor release; this test fails loudly if an
upgrade inside that range renames or reshapes what CanarySMTP relies on, instead of the
listener silently losing its DATA timeout, shutdown tracking or probe recording.
"""

from __future__ import annotations

import inspect

from aiosmtpd.smtp import SMTP


def test_the_private_aiosmtpd_names_the_listener_overrides_still_exist() -> None:
    proto = SMTP.__new__(SMTP)  # no loop needed to look at methods
    for name in (
        "_reset_timeout",
        "_timeout_cb",
        "_set_post_data_state",
        "_call_handler_hook",
        "smtp_DATA",
        "connection_made",
        "connection_lost",
    ):
        assert callable(getattr(proto, name, None)), name
    init = inspect.getsource(SMTP.__init__)
    for attribute in ("_smtp_methods", "_timeout_duration", "data_size_limit"):
        assert f"self.{attribute}" in init, attribute
    assert list(inspect.signature(SMTP._reset_timeout).parameters) == ["self", "duration"]


def test_commands_are_dispatched_through_the_method_table_the_listener_wraps() -> None:
    # CanarySMTP wraps every entry of _smtp_methods; aiosmtpd must look commands up there.
    source = inspect.getsource(SMTP._handle_client)
    assert "_smtp_methods" in source


def test_asyncio_stream_reader_keeps_a_bytearray_buffer_the_listener_can_unread_into() -> None:
    # listeners.smtp._unread puts bytes read past a message's final dot (pipelined
    # commands) back in front of StreamReader._buffer; a Python that changes it fails here.
    import asyncio

    from listeners.smtp import _unread

    async def check() -> bytes:
        reader = asyncio.StreamReader()
        assert isinstance(reader._buffer, bytearray)  # type: ignore[attr-defined]
        reader.feed_data(b"QUIT\r\n")
        _unread(reader, b"RSET\r\n")
        reader.feed_eof()
        return await reader.read()

    assert asyncio.run(check()) == b"RSET\r\nQUIT\r\n"
