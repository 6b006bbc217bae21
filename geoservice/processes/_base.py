# SPDX-License-Identifier: GPL-3.0-or-later
"""What every process shares: the caller captured at creation, input checks, area access."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import jsonschema
from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

from spatial_core import InputError, NotFoundError, ReadOnlyError

from .. import stores
from ..access import POLICE_ROLES, area_scope, scope_of
from ..context import RequestContext, activate, current, deactivate
from ..errors import process_error

__all__ = ["LptProcessor", "ProcessInputError", "ProcessNotFound", "ProcessUnauthorised",
           "ProcessForbidden"]


class ProcessInputError(ProcessorExecuteError):
    ogc_exception_code = "InvalidParameterValue"
    http_status_code = HTTPStatus.BAD_REQUEST


class ProcessNotFound(ProcessorExecuteError):
    ogc_exception_code = "NotFound"
    http_status_code = HTTPStatus.NOT_FOUND


class ProcessUnauthorised(ProcessorExecuteError):
    ogc_exception_code = "Unauthorized"
    http_status_code = HTTPStatus.UNAUTHORIZED


class ProcessForbidden(ProcessorExecuteError):
    ogc_exception_code = "Forbidden"
    http_status_code = HTTPStatus.FORBIDDEN


def _metadata(id_: str, title: str, description: str, inputs: dict, output: tuple[str, str],
              example: dict, asynchronous: bool) -> dict:
    """A process's description; ``output``: (name, title) of the one JSON object it answers."""
    name, output_title = output
    outputs = {name: {"title": output_title, "schema": {
        "type": "object", "contentMediaType": "application/json"}}}
    return {
        "version": "1.0.0", "id": id_, "title": {"en": title},
        "description": {"en": description},
        "jobControlOptions": ["sync-execute", "async-execute"] if asynchronous
        else ["sync-execute"],
        "keywords": ["policing", "targeting"], "links": [],
        "inputs": inputs, "outputs": outputs, "example": {"inputs": example},
    }


def text_input(title: str, description: str, *, required: bool = False,
               enum: list[str] | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "description": "a text"}
    if enum:
        schema.update(enum=enum, description=f"one of {enum}")
    return {"title": title, "description": description, "schema": schema,
            "minOccurs": 1 if required else 0, "maxOccurs": 1}


def area_input() -> dict:
    """The required ``area`` input: an area id the caller may use."""
    return text_input("Area", "An area id such as beat:DM01B01", required=True)


def int_input(title: str, description: str, minimum: int, maximum: int) -> dict:
    return {"title": title, "description": description,
            "schema": {"type": "integer", "minimum": minimum, "maximum": maximum,
                       "description": f"a whole number from {minimum} to {maximum}"},
            "minOccurs": 0, "maxOccurs": 1}


@functools.cache
def _input_validator(cls: type) -> jsonschema.Draft202012Validator:
    """One JSON Schema over a process's declared inputs (their ``schema`` objects)."""
    inputs = cls.METADATA.get("inputs", {})
    schema = {"type": "object",
              "properties": {name: spec.get("schema", {}) for name, spec in inputs.items()}}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _scope_text(areas: list[str] | None) -> list[str] | str:
    """The caller's scope as the audit log writes it: ``all`` only for every area."""
    return "all" if areas is None else areas


class LptProcessor(BaseProcessor):
    """A process over the store; the caller is the request's, captured when it is built
    (pygeoapi builds the processor in the request, and may run it in a thread)."""

    METADATA: dict = {}
    inputs_allowed: tuple[str, ...] = ()
    audited: str | None = None
    """The collection a process writes personal data to (its refusals are audited too)."""

    def __init__(self, processor_def: dict) -> None:
        super().__init__(processor_def, self.METADATA)
        self.location = str(processor_def.get("data"))
        self.options = processor_def.get("options") or {}
        self.ctx: RequestContext = current()

    def check(self, data: Mapping[str, Any]) -> dict:
        """Validated inputs; raises 400/401/403/404 before any job is created."""
        raise NotImplementedError

    def run(self, args: dict) -> tuple[str, Any]:
        raise NotImplementedError

    def validated(self, data: Mapping[str, Any]) -> dict:
        """:meth:`check`, with a refusal audited when the process writes personal data."""
        try:
            return self.check(data)
        except ProcessorExecuteError as exc:
            if self.audited:
                self.audit("denied", self.audited,
                           outcome=f"refused: {getattr(exc, 'message', exc)}")
            raise

    def execute(self, data: dict, outputs: dict | None = None) -> tuple[str, Any]:
        token = activate(self.ctx)
        try:
            args = self.validated(data)
            try:
                return self.run(args)
            except (InputError, NotFoundError, ReadOnlyError) as exc:
                if self.audited:  # refused by the core (no streets in the area, …)
                    self.audit("denied", self.audited, outcome=f"refused: {exc}")
                raise process_error(exc) from None
        finally:
            deactivate(token)

    # -- helpers ------------------------------------------------------------------------
    @property
    def store(self):
        return stores.store(self.location)

    def scope(self):
        """The caller's :class:`spatial_core.api.Scope` (what the core's use-cases take)."""
        return scope_of(self.location, self.ctx.principal, int(self.options.get("k", 5)))

    def known_inputs(self, data: Mapping[str, Any]) -> None:
        """Refuse (400) unknown inputs and inputs outside the schemas the process declares
        (``METADATA["inputs"]``, checked with jsonschema); a null input is an absent one.
        Meaning (an area the caller may use, a known profile) is checked by each process."""
        if not isinstance(data, Mapping):
            raise ProcessInputError(user_msg="inputs must be a JSON object")
        unknown = sorted(set(data) - set(self.inputs_allowed))
        if unknown:
            raise ProcessInputError(user_msg=f"unknown inputs {unknown}; this process takes "
                                             f"{list(self.inputs_allowed)}")
        given = {k: v for k, v in data.items() if v is not None}
        error = next(iter(sorted(_input_validator(type(self)).iter_errors(given),
                                 key=lambda e: [str(p) for p in e.absolute_path])), None)
        if error is not None:
            name = str(error.absolute_path[0]) if error.absolute_path else "inputs"
            schema = type(self).METADATA.get("inputs", {}).get(name, {}).get("schema", {})
            expected = schema.get("description") or error.message
            raise ProcessInputError(user_msg=f"input {name!r} must be {expected}, got "
                                             f"{given.get(name)!r}")

    def require_police(self) -> None:
        p = self.ctx.principal
        if p.role in POLICE_ROLES:
            return
        if p.is_anonymous:
            raise ProcessUnauthorised(user_msg="sign in to run this process")
        raise ProcessForbidden(user_msg=f"role {p.role!r} may not run this process")

    def area(self, value: Any, levels: tuple[str, ...] = ("beat", "npa", "ward", "force")
             ) -> str:
        """A stored area id the caller may use (404 for unknown or out-of-area ids)."""
        if not isinstance(value, str) or not value.strip():
            raise ProcessInputError(user_msg="input 'area' is required: an area id such as "
                                             "'beat:DM01B01'")
        tree = stores.area_tree(self.location)
        known = tree[tree["level"].isin(levels)]
        area_id = value.strip()
        if area_id not in set(known["area_id"]):
            raise ProcessNotFound(user_msg=f"no area {area_id!r} here")
        allowed = area_scope(self.location, self.ctx.principal)
        if allowed is not None and area_id not in allowed:
            raise ProcessNotFound(user_msg=f"no area {area_id!r} here")
        return area_id

    def audit(self, action: str, collection: str, **entry: Any) -> None:
        ctx = self.ctx
        if ctx.audit is None:
            return
        p = ctx.principal
        ctx.audit.append(request_id=ctx.request_id, sub=p.sub, role=p.role, via=p.via,
                         action=action, collection=collection,
                         query=ctx.path, scope=_scope_text(area_scope(self.location, p)),
                         purpose=ctx.purpose or p.default_purpose,
                         remote_addr=ctx.remote_addr, **{"outcome": "ok", **entry})
