# SPDX-License-Identifier: GPL-3.0-or-later
"""Members' contacts (e-mail, mobile), encrypted at rest, and opt-outs.

Contacts are kept only where messaging is switched on, that is where a key is configured:
``LPT_CONTACTS_KEY`` (one or more Fernet keys, comma-separated, newest first) or
``LPT_CONTACTS_KEY_FILE`` (a file holding them). Each field is a Fernet token (AES-128-CBC
with an HMAC-SHA256, from the ``cryptography`` library) in ``member_contacts``: a copy of the
store, a backup or a GeoPackage opened in QGIS shows tokens, never an address.

Only the delivery step decrypts: :func:`read_contacts_for_delivery` is the one function that
returns a contact, as a :class:`Contact` whose ``repr`` hides it. Everything else sees flags
(:func:`contact_flags`: has an e-mail, is it marked bad). Errors and log lines name members
by id, never by contact. :func:`store_contacts` decrypts the stored tokens of the members it
is given only to see whether the export changed them, and returns counts.

An opt-out (:func:`record_opt_outs`, whatever its source: the export, a link in a message, an
officer) takes effect at once: the contact is erased, the member's pending deliveries are
held, and contacts for that member are never stored again.
"""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Connection

from spatial_core.errors import InputError, StoreError
from spatial_core.store import schema

__all__ = [
    "CONTACTS_KEY_ENV",
    "CONTACTS_KEY_FILE_ENV",
    "MESSAGING_OFF",
    "OPT_OUT_SOURCES",
    "Contact",
    "contact_cipher",
    "new_contacts_key",
    "normalise_emails",
    "normalise_mobiles",
    "store_contacts",
    "import_contacts",
    "erase_contact",
    "record_opt_outs",
    "contact_flags",
    "read_contacts_for_delivery",
    "mark_email_bad",
    "rotate_contacts_key",
]

log = logging.getLogger(__name__)

CONTACTS_KEY_ENV = "LPT_CONTACTS_KEY"
CONTACTS_KEY_FILE_ENV = "LPT_CONTACTS_KEY_FILE"
OPT_OUT_SOURCES = ("export", "link", "officer")

MESSAGING_OFF = (
    "messaging is switched off: no contacts key is configured, so member contacts were not "
    "kept. Make a key with `python -c \"from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())\"`, keep it in a file readable only by the service, "
    f"set {CONTACTS_KEY_FILE_ENV} to that file (or {CONTACTS_KEY_ENV} to the key) and import "
    "the member export again (docs/engagement.md)"
)
"""What to do to switch messaging on; shown wherever contacts are needed and missing."""

_CHUNK = 5000
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")


class Contact:
    """A member's decrypted contact, for the delivery step only.

    Its ``repr`` never shows the address or number, so a contact that reaches a log line,
    a traceback or an error message by mistake shows nothing personal.
    """

    __slots__ = ("member_id", "email", "mobile", "email_status")

    def __init__(self, member_id: str, email: str | None, mobile: str | None,
                 email_status: str = "ok") -> None:
        self.member_id = member_id
        self.email = email
        self.mobile = mobile
        self.email_status = email_status

    def __repr__(self) -> str:
        return (f"Contact(member_id={self.member_id!r}, email={'<hidden>' if self.email else None}"
                f", mobile={'<hidden>' if self.mobile else None}, "
                f"email_status={self.email_status!r})")

    __str__ = __repr__


def _now_text(now: datetime | str | None = None) -> str:
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(now, datetime):
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
        return now.isoformat(timespec="seconds")
    return str(now)[:19]


def new_contacts_key() -> str:
    """A fresh Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode("ascii")


def contact_cipher(key_text: str | None = None) -> MultiFernet | None:
    """The contacts cipher, or None when messaging is switched off (no key configured).

    Parameters
    ----------
    key_text : str, optional
        Fernet keys, comma- or newline-separated, newest first (the first encrypts, all
        decrypt, so a rotation can be rolled out). Default: ``$LPT_CONTACTS_KEY``, else the
        text of the file named by ``$LPT_CONTACTS_KEY_FILE``.

    Raises
    ------
    InputError
        A key that is not a Fernet key, or a key file that cannot be read (the message never
        shows the key).
    """
    if key_text is None:
        key_text = os.environ.get(CONTACTS_KEY_ENV) or None
        where = CONTACTS_KEY_ENV
        if key_text is None and os.environ.get(CONTACTS_KEY_FILE_ENV):
            path = Path(os.environ[CONTACTS_KEY_FILE_ENV])
            where = f"{CONTACTS_KEY_FILE_ENV} ({path})"
            try:
                key_text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"cannot read the contacts key file {path}: "
                                 f"{type(exc).__name__}") from None
    else:
        where = "the key given"
    if key_text is None:
        return None
    keys = [k.strip() for k in re.split(r"[,\n]", key_text) if k.strip()]
    if not keys:
        raise InputError(f"{where} holds no key")
    fernets = []
    for i, k in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(k.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise InputError(f"{where}: key {i} is not a Fernet key (32 url-safe base64-encoded "
                             "bytes, as Fernet.generate_key() makes)") from None
    return MultiFernet(fernets)


def normalise_emails(values) -> np.ndarray:
    """E-mail addresses stripped, the domain lower-cased; anything that is not an address
    (empty, no ``@``, spaces) becomes None."""
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            continue
        v = v.strip().strip("<>").strip()
        if len(v) > 254 or not _EMAIL.match(v):
            continue
        local, _, domain = v.rpartition("@")
        out[i] = f"{local}@{domain.lower()}"
    return out


def normalise_mobiles(values) -> np.ndarray:
    """UK mobile numbers as 11 digits ``07…`` (``+44 7700 900123`` → ``07700900123``);
    anything else becomes None."""
    out = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            continue
        digits = re.sub(r"[\s().-]", "", v)
        if digits.startswith("+44"):
            digits = "0" + digits[3:]
        elif digits.startswith("0044"):
            digits = "0" + digits[4:]
        if re.fullmatch(r"07\d{9}", digits):
            out[i] = digits
    return out


def _encrypt(cipher: MultiFernet, values: np.ndarray) -> list[str | None]:
    return [cipher.encrypt(v.encode("utf-8")).decode("ascii") if isinstance(v, str) else None
            for v in values]


def _decrypt(cipher: MultiFernet, tokens: Iterable) -> list[str | None]:
    out: list[str | None] = []
    for t in tokens:
        if t is None or (isinstance(t, float) and np.isnan(t)):
            out.append(None)
            continue
        try:
            out.append(cipher.decrypt(str(t).encode("ascii")).decode("utf-8"))
        except InvalidToken:
            raise StoreError("a stored contact cannot be decrypted with the configured contacts "
                             "key: the key changed without `lpt contacts rotate-key` (keep the "
                             "old key after the new one in LPT_CONTACTS_KEY until rotated)"
                             ) from None
    return out


def _in_chunks(ids: Sequence) -> Iterable[list]:
    ids = list(ids)
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _opted_out_ids(store, conn: Connection, ids: Sequence) -> set:
    t = schema.opt_outs
    out: set = set()
    for chunk in _in_chunks(ids):
        out |= set(store.read("opt_outs", ["member_id"], where=t.c.member_id.in_(chunk),
                              conn=conn)["member_id"])
    return out


def store_contacts(store, conn: Connection, frame: pd.DataFrame, cipher: MultiFernet | None, *,
                   now: datetime | str | None = None) -> dict[str, int]:
    """Store (encrypted) the contacts of ``frame`` in ``member_contacts``, in ``conn``'s
    transaction.

    Parameters
    ----------
    frame : DataFrame
        ``member_id`` and ``email`` and/or ``mobile`` (raw text from an export; normalised
        here). A missing column or value (None) leaves that field as stored; an empty or
        invalid text clears it. A member left with neither is removed from ``member_contacts``.
    cipher : MultiFernet or None
        From :func:`contact_cipher`; None (messaging off) stores nothing.

    Returns
    -------
    dict
        Counts only: ``added``, ``changed``, ``removed``, ``unchanged``, ``opted_out`` (rows
        skipped because the member opted out: their contacts are never kept). A changed
        e-mail address is marked ``ok`` again.
    """
    counts = {"added": 0, "changed": 0, "removed": 0, "unchanged": 0, "opted_out": 0}
    if cipher is None or frame is None or not len(frame):
        return counts
    has_email, has_mobile = "email" in frame.columns, "mobile" in frame.columns
    if not (has_email or has_mobile):
        return counts
    f = pd.DataFrame({"member_id": frame["member_id"].astype(str).to_numpy(dtype=object)})
    for col, norm in (("email", normalise_emails), ("mobile", normalise_mobiles)):
        raw = frame[col].to_numpy(dtype=object) if col in frame.columns else \
            np.full(len(frame), None, dtype=object)
        f[f"_given_{col}"] = ~pd.isna(raw)
        f[col] = norm(raw)
    f = f.drop_duplicates("member_id", keep="last").reset_index(drop=True)
    out = f["member_id"].isin(_opted_out_ids(store, conn, f["member_id"])).to_numpy()
    counts["opted_out"] = int(out.sum())
    f = f[~out].reset_index(drop=True)
    t = schema.member_contacts
    old_parts = [store.read("member_contacts", ["member_id", "email_enc", "mobile_enc",
                                                "email_status"],
                            where=t.c.member_id.in_(chunk), conn=conn)
                 for chunk in _in_chunks(f["member_id"])]
    old = pd.concat(old_parts, ignore_index=True) if old_parts else pd.DataFrame(
        columns=["member_id", "email_enc", "mobile_enc", "email_status"])
    old = old.set_index("member_id").reindex(f["member_id"])
    stored = old["email_status"].notna().to_numpy()
    old_email = np.asarray(_decrypt(cipher, old["email_enc"]), dtype=object)
    old_mobile = np.asarray(_decrypt(cipher, old["mobile_enc"]), dtype=object)
    email = np.where(f["_given_email"], f["email"].to_numpy(dtype=object), old_email)
    mobile = np.where(f["_given_mobile"], f["mobile"].to_numpy(dtype=object), old_mobile)
    email_changed = np.array([a != b for a, b in zip(email, old_email, strict=True)], dtype=bool)
    mobile_changed = np.array([a != b for a, b in zip(mobile, old_mobile, strict=True)],
                              dtype=bool)
    empty = pd.isna(email) & pd.isna(mobile)
    stamp = _now_text(now)
    remove = stored & empty
    for chunk in _in_chunks(f["member_id"].to_numpy()[remove]):
        store.delete_where(conn, "member_contacts", t.c.member_id.in_(chunk))
    counts["removed"] = int(remove.sum())
    add = ~stored & ~empty
    if add.any():
        counts["added"] = store.insert_new(conn, "member_contacts", pd.DataFrame({
            "member_id": f["member_id"].to_numpy()[add],
            "email_enc": _encrypt(cipher, email[add]),
            "mobile_enc": _encrypt(cipher, mobile[add]),
            "email_status": "ok", "updated_at": stamp}))
    change = stored & ~empty & (email_changed | mobile_changed)
    if change.any():
        status = np.where(email_changed[change], "ok",
                          old["email_status"].to_numpy(dtype=object)[change])
        store.update_by_key(conn, "member_contacts", "member_id", pd.DataFrame({
            "member_id": f["member_id"].to_numpy()[change],
            "email_enc": _encrypt(cipher, email[change]),
            "mobile_enc": _encrypt(cipher, mobile[change]),
            "email_status": status, "updated_at": stamp}))
    counts["changed"] = int(change.sum())
    counts["unchanged"] = int((stored & ~empty & ~(email_changed | mobile_changed)).sum())
    return counts


_NO = {"", "n", "no", "false", "0", "none", "n/a", "na", "-"}


def import_contacts(store, conn: Connection, frame: pd.DataFrame, *,
                    cipher: MultiFernet | None | bool = True,
                    now: datetime | str | None = None) -> str | None:
    """The member importer's contact step, in the import's transaction.

    ``frame`` has ``member_id`` and any of ``email``, ``mobile`` (None where the export has
    no such column) and ``opt_out`` (the export's opt-out flag: anything but empty, ``no``,
    ``false``, ``0`` opts the member out, source ``export``). Only members stored in
    ``members`` are touched. Opt-outs are recorded whether or not messaging is on; contacts
    are kept (encrypted) only when a key is configured (``cipher=True`` reads it from the
    environment). Returns a one-line note for the import report (counts only), or None.
    """
    if cipher is True:
        cipher = contact_cipher()
    elif cipher is False:
        cipher = None
    if frame is None or not len(frame):
        return None
    m = schema.members
    ids = frame["member_id"].astype(str)
    known: set = set()
    for chunk in _in_chunks(pd.unique(ids)):
        known |= set(store.read("members", ["member_id"], where=m.c.member_id.in_(chunk),
                                conn=conn)["member_id"])
    f = frame[ids.isin(known).to_numpy()]
    notes = []
    if "opt_out" in f.columns:
        flag = f["opt_out"].fillna("").astype(str).str.strip().str.lower()
        out = f.loc[~flag.isin(_NO).to_numpy(), "member_id"].astype(str)
        added = record_opt_outs(store, conn, out.tolist(), source="export", at=now)
        if added:
            notes.append(f"{added} member(s) opted out in the export (contacts erased)")
    has_contacts = any(c in f.columns and f[c].notna().any() for c in ("email", "mobile"))
    if not has_contacts:
        return "; ".join(notes) or None
    if cipher is None:
        notes.append("contacts (email, phone) not kept: " + MESSAGING_OFF)
        return "; ".join(notes)
    cols = [c for c in ("member_id", "email", "mobile") if c in f.columns]
    c = store_contacts(store, conn, f[cols], cipher, now=now)
    notes.append(f"contacts kept encrypted: {c['added']} added, {c['changed']} changed, "
                 f"{c['removed']} removed, {c['unchanged']} unchanged"
                 + (f", {c['opted_out']} not kept (opted out)" if c["opted_out"] else ""))
    return "; ".join(notes)


def erase_contact(store, conn: Connection, member_id: str) -> bool:
    """Delete a member's contact; True when there was one."""
    t = schema.member_contacts
    return store.delete_where(conn, "member_contacts", t.c.member_id == str(member_id)) > 0


def record_opt_outs(store, conn: Connection, member_ids: Sequence[str], *, source: str,
                    recorded_by: str | None = None, at: datetime | str | None = None,
                    ) -> int:
    """Record opt-outs in ``conn``'s transaction; they take effect at once.

    For each member: an ``opt_outs`` row (the first opt-out is kept; a member opts out once),
    the contact erased, and the member's pending deliveries of every message (``queued`` or
    ``retry``) held with reason ``opted_out``. Returns how many members were newly opted out.
    """
    if source not in OPT_OUT_SOURCES:
        raise InputError(f"opt-out source {source!r} is not one of {', '.join(OPT_OUT_SOURCES)}")
    ids = list(dict.fromkeys(str(m) for m in member_ids))
    if not ids:
        return 0
    stamp = _now_text(at)
    added = store.insert_new(conn, "opt_outs", pd.DataFrame({
        "member_id": ids, "opted_out_at": stamp, "source": source,
        "recorded_by": recorded_by}))
    c, r = schema.member_contacts, schema.message_recipients
    for chunk in _in_chunks(ids):
        store.delete_where(conn, "member_contacts", c.c.member_id.in_(chunk))
        conn.execute(r.update().where(r.c.member_id.in_(chunk))
                     .where(r.c.state.in_(("queued", "retry")))
                     .values(state="held", held_reason="opted_out", next_attempt=None))
    return int(added)


def contact_flags(store, member_ids: Sequence[str] | None = None,
                  conn: Connection | None = None) -> pd.DataFrame:
    """Which members have a usable e-mail address, without decrypting anything.

    Returns ``member_id``, ``has_email`` (a token is stored), ``has_mobile`` and
    ``email_status`` (``ok`` | ``bad``).
    """
    t = schema.member_contacts
    cols = ["member_id", "email_enc", "mobile_enc", "email_status"]
    if member_ids is None:
        raw = store.read("member_contacts", cols, conn=conn)
    else:
        parts = [store.read("member_contacts", cols, where=t.c.member_id.in_(chunk), conn=conn)
                 for chunk in _in_chunks(list(member_ids))]
        raw = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    return pd.DataFrame({
        "member_id": raw["member_id"].astype(object).to_numpy(),
        "has_email": raw["email_enc"].notna().to_numpy(dtype=bool),
        "has_mobile": raw["mobile_enc"].notna().to_numpy(dtype=bool),
        "email_status": raw["email_status"].astype(object).to_numpy(),
    })


def read_contacts_for_delivery(store, member_ids: Sequence[str], cipher: MultiFernet | None,
                               conn: Connection | None = None) -> dict[str, Contact]:
    """The decrypted contacts of ``member_ids`` (those that have one), for sending only.

    Raises
    ------
    InputError
        Messaging is switched off (no key): :data:`MESSAGING_OFF` says how to switch it on.
    """
    if cipher is None:
        raise InputError(MESSAGING_OFF)
    t = schema.member_contacts
    out: dict[str, Contact] = {}
    for chunk in _in_chunks(list(member_ids)):
        rows = store.read("member_contacts", ["member_id", "email_enc", "mobile_enc",
                                              "email_status"],
                          where=t.c.member_id.in_(chunk), conn=conn)
        emails = _decrypt(cipher, rows["email_enc"])
        mobiles = _decrypt(cipher, rows["mobile_enc"])
        for mid, e, m, s in zip(rows["member_id"], emails, mobiles, rows["email_status"],
                                strict=True):
            out[str(mid)] = Contact(str(mid), e, m, str(s))
    return out


def mark_email_bad(store, conn: Connection, member_ids: Sequence[str], *,
                   at: datetime | str | None = None) -> int:
    """Mark members' e-mail addresses bad (a permanent delivery failure): they are held
    back as having no contact until a newer export gives another address."""
    t = schema.member_contacts
    n = 0
    for chunk in _in_chunks([str(m) for m in member_ids]):
        n += conn.execute(t.update().where(t.c.member_id.in_(chunk))
                          .values(email_status="bad", updated_at=_now_text(at))).rowcount
    return n


def rotate_contacts_key(store, old_cipher: MultiFernet, new_cipher: MultiFernet) -> int:
    """Re-encrypt every stored contact with ``new_cipher``'s first key, in one transaction
    (all or none: a token the old key cannot read stops it with nothing changed).

    Returns the number of members whose contacts were re-encrypted. Afterwards configure
    the new key (it may keep the old one after it until every process has the new key).
    """
    if old_cipher is None or new_cipher is None:
        raise InputError("rotating the contacts key needs the current key (LPT_CONTACTS_KEY or "
                         "LPT_CONTACTS_KEY_FILE) and a new one")
    n = 0
    with store.begin() as conn:
        rows = store.read("member_contacts", ["member_id", "email_enc", "mobile_enc"], conn=conn)
        for start in range(0, len(rows), _CHUNK):
            part = rows.iloc[start:start + _CHUNK]
            emails = np.asarray(_decrypt(old_cipher, part["email_enc"]), dtype=object)
            mobiles = np.asarray(_decrypt(old_cipher, part["mobile_enc"]), dtype=object)
            store.update_by_key(conn, "member_contacts", "member_id", pd.DataFrame({
                "member_id": part["member_id"].to_numpy(),
                "email_enc": _encrypt(new_cipher, emails),
                "mobile_enc": _encrypt(new_cipher, mobiles)}))
            n += len(part)
    log.info("contacts key rotated: %d members re-encrypted", n)
    return n
