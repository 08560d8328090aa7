"""The file transport: one JSON line per message, in a folder it makes if needed."""

import json
import threading
from pathlib import Path

import pytest
from pytest_django.fixtures import Settings

from tests.notifications.conftest import PHONE, read_lines
from vaxnet.notifications.models import Message
from vaxnet.notifications.services import message_enqueue, message_send
from vaxnet.notifications.transports import TransportError, get_transport
from vaxnet.notifications.transports.console import ConsoleTransport
from vaxnet.notifications.transports.file import FileTransport


def _message(body: str) -> Message:
    return Message(recipient=PHONE, language="hi", template="otp", body=body)


def test_it_writes_one_json_line_per_message(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "sms.jsonl"
    transport = FileTransport(path)
    first, second = _message("पहला संदेश"), _message("second")

    transport.send(first)
    transport.send(second)

    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["पहला संदेश", "second"]
    record = json.loads(lines[0])
    assert record["to"] == PHONE
    assert record["reference"] == first.public_id
    assert record["language"] == "hi"
    assert record["unicode"] is True


def test_it_keeps_lines_whole_when_writers_append_at_once(tmp_path: Path) -> None:
    path = tmp_path / "sms.jsonl"
    body = "x" * 20000

    def write() -> None:
        for _ in range(20):
            FileTransport(path).send(_message(body))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [line["text"] for line in read_lines(path)] == [body] * 80


def test_it_fails_for_now_when_it_cannot_write(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")

    with pytest.raises(TransportError) as failed:
        FileTransport(blocker / "sms.jsonl").send(_message("hello"))

    assert failed.value.retryable


@pytest.mark.django_db
def test_it_sends_to_the_file_the_settings_name(sms_file: Path) -> None:
    message = message_enqueue(to=PHONE, language="ta", template="otp", context={"code": "493817"})

    message_send(message=message)

    [line] = read_lines(sms_file)
    assert line["template"] == "otp"
    assert "493817" in line["text"]


def test_it_prints_a_message_on_the_console(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.SMS_TRANSPORT = "console"
    message = _message("493817 is your code.\nDo not share it.")

    transport = get_transport()
    provider_id = transport.send(message)

    assert isinstance(transport, ConsoleTransport)
    assert provider_id == message.public_id
    output = capsys.readouterr().out
    assert output.count("\n") == 1
    assert PHONE in output and "493817 is your code. Do not share it." in output
