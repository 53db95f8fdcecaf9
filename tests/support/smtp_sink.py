#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd), optionally requiring a login.

Every message it accepts is parsed with Python's email package, every iCalendar part with the
`icalendar` package, and written as one JSON file into --folder (written whole, then renamed),
so a test reads what a recipient's mail program and calendar would see.

    smtp_sink.py --folder DIR [--port N] [--user U --password P]

Prints "PORT <n>" once it listens; runs until killed.

With --check-ics FILE it instead parses one iCalendar file (a calendar feed) and prints its
facts as JSON.
"""

import argparse
import email
import json
import os
import sys
import threading
import warnings
from datetime import timezone
from email import policy

import icalendar
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        record = {
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message["subject"] or ""),
            "text": None,
            "html": None,
            "calendars": [],
        }
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and record["text"] is None:
                record["text"] = part.get_content()
            elif kind == "text/html" and record["html"] is None:
                record["html"] = part.get_content()
            elif kind in ("text/calendar", "application/ics"):
                record["calendars"].append(
                    calendar_facts(part.get_payload(decode=True), kind, part.get_param("method"))
                )
        self.count += 1
        name = os.path.join(self.folder, "%06d.json" % self.count)
        with open(name + ".tmp", "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
        os.rename(name + ".tmp", name)
        return "250 OK"


def calendar_facts(raw, content_type, method_param):
    """What a calendar program reads: the method, the time zones, each event's time in UTC
    (by the zone's name, and by the rules of the calendar's own VTIMEZONE)."""
    calendar = icalendar.Calendar.from_ical(raw)
    own_rules = {
        str(tz.get("TZID")): tz.to_tz(lookup_tzid=False) for tz in calendar.walk("VTIMEZONE")
    }
    events = []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART")
        own = own_rules.get(event["DTSTART"].params.get("TZID"))
        by_own_rules = None
        if own is not None:
            naive = start.replace(tzinfo=None)
            local = own.localize(naive) if hasattr(own, "localize") else naive.replace(tzinfo=own)
            by_own_rules = local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        events.append({
            "uid": str(event.get("UID")),
            "sequence": int(event.get("SEQUENCE", 0)),
            "summary": str(event.get("SUMMARY")),
            "status": str(event.get("STATUS", "")),
            "tzid": event["DTSTART"].params.get("TZID"),
            "start_local": start.strftime("%Y-%m-%dT%H:%M:%S"),
            "start_utc": start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_utc_by_vtimezone": by_own_rules,
            "organizer": str(event.get("ORGANIZER", "")),
            "attendees": [str(a) for a in as_list(event.get("ATTENDEE", []))],
        })
    return {
        "content_type": content_type,
        "content_type_method": method_param,
        "method": str(calendar.get("METHOD", "")),
        "timezones": [str(tz.get("TZID")) for tz in calendar.walk("VTIMEZONE")],
        "events": events,
    }


def as_list(value):
    return value if isinstance(value, list) else [value]


class Login:
    def __init__(self, user, password):
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        if (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        ):
            return AuthResult(success=True)
        # aiosmtpd answers "535 5.7.8 Authentication credentials invalid".
        return AuthResult(success=False, handled=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder")
    parser.add_argument("--check-ics")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    if args.check_ics:
        with open(args.check_ics, "rb") as file:
            print(json.dumps(calendar_facts(file.read(), "text/calendar", None)))
        return 0
    os.makedirs(args.folder, exist_ok=True)
    # A login over plain text is what the tests want (a local test server, no TLS).
    warnings.simplefilter("ignore")
    options = {}
    if args.user:
        options = dict(
            authenticator=Login(args.user, args.password or ""),
            auth_required=True,
            auth_require_tls=False,
        )
    port = args.port
    if port == 0:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Controller(Saver(args.folder), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("PORT %d" % port, flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
