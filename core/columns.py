"""The columns of an opt-out list, and the other names tools give them: one definition."""

from __future__ import annotations

# Header names seen in exports of other tools, mapped to the names the service reads.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone",
        "number",
        "phone_number",
        "phonenumber",
        "phone_no",
        "phone_num",
        "telephone",
        "telephone_no",
        "telephone_number",
        "tel",
        "tel_no",
        "mobile",
        "mobile_number",
        "mobile_phone",
        "mobile_no",
        "cell",
        "cell_phone",
        "cellphone",
        "contact",
        "contact_number",
        "msisdn",
        "e164",
        "e_164",
    ),
    "sender": (
        "sender", "sender_number", "sender_id", "business_number", "business_phone",
        "from", "from_number", "short_code",
    ),
    "reason": ("reason", "note", "notes", "comment", "comments"),
    "opted_out_at": (
        "opted_out_at", "opted_out", "opted_out_on", "opt_out_date", "unsubscribed_at",
        "date", "since", "timestamp", "created_at",
    ),
}  # fmt: skip

# The keys a row handed to core.bulk may use, most specific first: the service's own name and
# the few short aliases it has always read (the CLI maps a file's headers with COLUMN_ALIASES
# first, so these only matter to a caller passing rows straight in).
PHONE_KEYS = ("phone", "number", "phone_number", "mobile", "contact", "msisdn")
SENDER_KEYS = ("sender", "from", "business_number")
SINCE_KEYS = ("opted_out_at", "date", "since")
REASON_KEYS = ("reason", "note")
