# SPDX-License-Identifier: GPL-3.0-or-later
"""The service YAML: ${ENV} placeholders, paths, clear errors; the generated pygeoapi config."""
from __future__ import annotations

import pytest

pytest.importorskip("pygeoapi")

from geoservice.config import ConfigError, load_config, parse_config  # noqa: E402

SHA = "a" * 64


def test_env_placeholders_fill_secrets_and_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("LPT_DB", "postgresql://lpt:s3cret@db/lpt")
    monkeypatch.setenv("LPT_KEY_SHA", SHA)
    (tmp_path / "s.yml").write_text(
        "store: ${LPT_DB}\n"
        "auth:\n  api_keys:\n    - {name: gis, sha256: '${LPT_KEY_SHA}', role: force_analyst}\n"
        "disclosure: {k: '${LPT_K:-7}'}\naudit: {path: logs/audit.jsonl}\n")
    cfg = load_config(tmp_path / "s.yml")
    assert cfg.store == "postgresql://lpt:s3cret@db/lpt"
    assert cfg.api_keys[0].sha256 == SHA and cfg.api_keys[0].role == "force_analyst"
    assert cfg.k == 7
    assert cfg.audit_path == str(tmp_path / "logs" / "audit.jsonl")


@pytest.mark.parametrize("raw,message", [
    ({}, "store: give the GeoPackage path"),
    ({"store": "${LPT_NOT_SET_ANYWHERE}"}, "environment variable LPT_NOT_SET_ANYWHERE is not set"),
    ({"store": "x.gpkg", "auth": {"api_keys": [{"sha256": "letmein", "role": "public"}]}},
     "never the key itself"),
    ({"store": "x.gpkg", "auth": {"api_keys": [{"sha256": SHA, "role": "admin"}]}},
     "'admin' is not a role"),
    ({"store": "x.gpkg", "auth": {"oidc": {"issuer": "i", "audience": "a"}}},
     "exactly one of jwks_file or jwks_url"),
    ({"store": "x.gpkg", "auth": {"oidc": {"issuer": "i", "audience": "a", "jwks_file": "j",
                                           "algorithms": ["HS256"]}}}, "public-key algorithms"),
    ({"store": "x.gpkg", "disclosure": {"k": 1}}, "at least 2"),
    ({"store": "x.gpkg", "extra": 1}, "unknown section"),
])
def test_bad_configuration_says_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_pygeoapi_config_registers_our_providers_by_dotted_path(tmp_path):
    from geoservice.config import pygeoapi_config
    from spatial_core import open_store

    open_store(tmp_path / "s.gpkg").close()
    pg = pygeoapi_config(parse_config({"store": str(tmp_path / "s.gpkg")}), port=5123)
    assert pg["server"]["url"] == "http://127.0.0.1:5123"
    names = {k: v["providers"][0]["name"] for k, v in pg["resources"].items()
             if v["type"] == "collection"}
    assert names == {"streets": "geoservice.providers.streets.StreetProvider",
                     "areas": "geoservice.providers.areas.AreaProvider",
                     "visits": "geoservice.providers.visits.VisitProvider",
                     "street_scores": "geoservice.providers.scores.ScoreProvider",
                     "crime_cells": "geoservice.providers.cells.CellProvider",
                     "area_profiles": "geoservice.providers.area_profiles.AreaProfileProvider",
                     "setups": "geoservice.providers.setups.SetupProvider",
                     "walk_lists": "geoservice.providers.setups.WalkListProvider",
                     "key_contacts": "geoservice.providers.contacts.KeyContactProvider",
                     "messages": "geoservice.providers.engagement.MessageProvider",
                     "replies": "geoservice.providers.engagement.ReplyProvider",
                     "actions": "geoservice.providers.engagement.ActionProvider",
                     "engagement": "geoservice.providers.engagement.EngagementProvider",
                     "area_confidence":
                         "geoservice.providers.confidence.AreaConfidenceProvider",
                     "area_change": "geoservice.providers.confidence.AreaChangeProvider",
                     "network_gaps": "geoservice.providers.groups.NetworkGapProvider",
                     "network_groups": "geoservice.providers.groups.NetworkGroupProvider",
                     **{f"progress_{k}": f"geoservice.providers.progress.Progress{c}Provider"
                        for k, c in (("headline", "Headline"), ("setups", "Setup"),
                                     ("beats", "Beat"), ("officers", "Officer"),
                                     ("days", "Day"))}}
    procs = {k: v["processor"]["name"] for k, v in pg["resources"].items()
             if v["type"] == "process"}
    assert procs == {"score-area": "geoservice.processes.score_area.ScoreAreaProcessor",
                     "area-representation":
                         "geoservice.processes.representation.RepresentationProcessor",
                     "create-setup": "geoservice.processes.create_setup.CreateSetupProcessor",
                     "compose-message":
                         "geoservice.processes.compose_message.ComposeMessageProcessor",
                     "you-said-we-did-draft": "geoservice.processes.compose_message.DraftProcessor",
                     "send-message": "geoservice.processes.send_message.SendMessageProcessor",
                     "record-action": "geoservice.processes.record_action.RecordActionProcessor",
                     "answer-reply": "geoservice.processes.answer_reply.AnswerReplyProcessor",
                     "door-survey": "geoservice.processes.door_survey.DoorSurveyProcessor",
                     "evaluate-setup":
                         "geoservice.processes.evaluate_setup.EvaluateSetupProcessor",
                     "priorities-by-group":
                         "geoservice.processes.priorities_by_group.PrioritiesByGroupProcessor"}
    assert pg["resources"]["visits"]["providers"][0]["editable"] is True
