"""Loading rules.yml: every problem reported with file, line and path; the floor; the cap."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.model import Transition
from rules import MAX_TESTS, build_engine, compile_rules, load_rules
from rules.caps import MAX_GUARDS
from rules.errors import RulesError
from rules.schema import RulesFile
from stopline.cli.rules_check import check_file
from tests.unit.test_rules_support import SHIPPED, edited, line_of, message, shipped_text, write


def problems(path: Path) -> list[str]:
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert info.value.file == str(path)
    return [str(p) for p in info.value.problems]


def test_shipped_rules_load_and_pass_check() -> None:
    compiled = load_rules(SHIPPED)
    assert len(compiled.version) == 64
    assert {"en", "es", "fr"} <= set(compiled.languages)
    assert compiled.test_count <= MAX_TESTS
    ok, lines = check_file(SHIPPED)
    assert ok, lines
    assert lines[0].endswith("OK")
    assert any(line.startswith("keyword groups:") for line in lines)
    assert any(line.startswith("version: ") and compiled.version in line for line in lines)


def test_version_is_the_sha256_of_the_file_bytes(tmp_path: Path) -> None:
    import hashlib

    text = shipped_text() + "\n# a comment changes the version\n"
    path = write(tmp_path, text)
    assert load_rules(path).version == hashlib.sha256(text.encode()).hexdigest()
    assert load_rules(path).version != load_rules(SHIPPED).version


def test_unquoted_yes_is_reported_with_its_line(tmp_path: Path) -> None:
    text = edited('UNSTOP, "YES"', 'UNSTOP, YES')
    found = problems(write(tmp_path, text))
    line = line_of(text, "words: [START, UNSTOP, YES")
    assert any(f":{line} at keywords.start_en.words[2]:" in p and '"YES"' in p and "quotes" in p
               for p in found), found


@pytest.mark.parametrize("word", ["NO", "ON", "OFF", "yes", "True"])
def test_yaml_booleans_are_never_taken_as_text(tmp_path: Path, word: str) -> None:
    text = edited("words: [AIDE]", f"words: [AIDE, {word}]")
    found = problems(write(tmp_path, text))
    line = line_of(text, "words: [AIDE,")
    assert any(f":{line} at keywords.help_fr.words[1]:" in p and "quotes" in p for p in found)


def test_boolean_language_key_is_reported(tmp_path: Path) -> None:
    # Norwegian "no" as an unquoted key is read by YAML as false
    text = edited('    en: "You are subscribed again.', '    no: "Du er abonnert."\n'
                  '    en: "You are subscribed again.')
    found = problems(write(tmp_path, text))
    assert any("replies.opt_in" in p and "quotes" in p for p in found), found


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    text = edited("    scope: account\n", "    scope: account\n    scoep: sender\n")
    found = problems(write(tmp_path, text))
    line = line_of(text, "scoep")
    assert found == [f"{tmp_path / 'rules.yml'}:{line} at keywords.stop_all_en.scoep: "
                     "unknown key (check the spelling; see the comments in the shipped rules.yml)"]


@pytest.mark.parametrize(("old", "new", "path", "needle"), [
    ("    scope: account\n", "    scope: everyone\n", "keywords.stop_all_en.scope", "scope: every"),
    ("typo_min_length: 5", "typo_min_length: five", "review.typo_min_length", "five"),
    ("format: 1", "format: 2", "format", "format: 2"),
    ("    language: es\n", "    language: Spanish\n", "keywords.stop_es.language", "Spanish"),
    ("actors: [agent, api]", "actors: [agent, robot]", "commands.opt_in.actors[1]", "robot"),
])
def test_wrong_types_and_values(tmp_path: Path, old: str, new: str, path: str,
                                needle: str) -> None:
    text = edited(old, new)
    found = problems(write(tmp_path, text))
    assert any(f":{line_of(text, needle)} at {path}:" in p for p in found), found


def test_keyword_in_two_groups(tmp_path: Path) -> None:
    text = edited("words: [AYUDA]", "words: [AYUDA, alto]")
    found = problems(write(tmp_path, text))
    line = line_of(text, "words: [AYUDA, alto]")
    assert any(f":{line} at keywords.help_es.words[1]:" in p and '"stop_es"' in p
               for p in found), found


def test_same_word_with_accents_is_the_same_keyword(tmp_path: Path) -> None:
    text = edited("words: [AIDE]", "words: [AIDE, ARRET]")
    assert any("help_fr.words[1]" in p for p in problems(write(tmp_path, text)))


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = edited("  help_fr:\n", "  help_es:\n")
    found = problems(write(tmp_path, text))
    second = [n for n, line in enumerate(text.splitlines(), 1) if line == "  help_es:"][1]
    assert f"rules.yml:{second} at keywords.help_es: key appears twice" in found[0], found


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    text = edited("  stop_es:\n", "  stop_es: [\n")
    found = problems(write(tmp_path, text))
    assert len(found) == 1 and "not valid YAML" in found[0]
    start = line_of(text, "stop_es: [")
    assert f"that starts on line {start})" in found[0], found
    assert "<unicode string>" not in found[0]


@pytest.mark.parametrize("text", ["", "just a string\n", "- a\n- list\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    assert problems(write(tmp_path, text))


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    assert "cannot read" in problems(tmp_path / "missing.yml")[0]
    bad = tmp_path / "latin1.yml"
    bad.write_bytes("format: 1\n# arrêt\n".encode("latin-1"))
    assert "UTF-8" in problems(bad)[0]


# The floor: files that try to remove it are refused, with the line.
@pytest.mark.parametrize(("old", "new", "word"), [
    ("words: [STOP, UNSUBSCRIBE,", "words: [UNSUBSCRIBE,", "STOP"),
    ("words: [STOPALL, STOP ALL]", "words: [STOPALL]", "STOP ALL"),
    (" REVOKE, OPTOUT,", " OPTOUT,", "REVOKE"),
    (" OPT OUT, OPT-OUT]", "]", "OPT OUT"),
    ("words: [CANCEL, END, QUIT, REMOVE]", "words: [REMOVE]", "CANCEL"),
    ("words: [START, UNSTOP,", "words: [START,", "UNSTOP"),
    ("words: [HELP, INFO]", "words: [HELP]", "INFO"),
])
def test_removing_a_floor_keyword_is_refused(tmp_path: Path, old: str, new: str,
                                             word: str) -> None:
    found = problems(write(tmp_path, edited(old, new)))
    assert any(f'"{word}" must be an' in p and "floor" in p for p in found), found


def test_moving_stop_to_help_is_refused(tmp_path: Path) -> None:
    text = edited("words: [STOP, UNSUBSCRIBE,", "words: [UNSUBSCRIBE,")
    text = text.replace("words: [HELP, INFO]", "words: [HELP, INFO, STOP]")
    found = problems(write(tmp_path, text))
    assert any('"STOP" must be an opt_out keyword (the legal floor), not help' in p
               and "keywords.help_en" in p for p in found), found


def test_letting_agents_opt_in_a_contacts_opt_out_is_refused(tmp_path: Path) -> None:
    text = edited("may_reverse: [agent, api, import]", "may_reverse: [agent, contact]")
    found = problems(write(tmp_path, text))
    line = line_of(text, "may_reverse: [agent, contact]")
    assert any(f":{line} at commands.opt_in.may_reverse[1]:" in p and "only the contact" in p
               for p in found), found


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = edited("words: [STOP, UNSUBSCRIBE,", "words: [UNSUBSCRIBE,")
    text = text.replace("may_reverse: [agent, api, import]", "may_reverse: [contact]")
    text = text.replace("words: [AYUDA]", "words: [AYUDA, ALTO]")
    assert len(problems(write(tmp_path, text))) >= 3


def test_check_file_lists_each_problem(tmp_path: Path) -> None:
    path = write(tmp_path, edited('UNSTOP, "YES"', 'UNSTOP, YES'))
    ok, lines = check_file(path)
    assert not ok
    assert all(line.startswith(f"{path}:") for line in lines)


def test_invalid_sender_override_is_reported(tmp_path: Path) -> None:
    text = edited('    "12345":\n', '    "12":\n')
    found = problems(write(tmp_path, text))
    assert any("replies.senders.12" in p for p in found), found


def test_default_language_needs_every_reply(tmp_path: Path) -> None:
    text = edited('    en: "You are subscribed again.', '    it: "You are subscribed again.')
    found = problems(write(tmp_path, text))
    assert any("replies.opt_in" in p and '"en"' in p for p in found), found


def test_the_engine_unions_the_floor_even_without_validation(evaluator: str) -> None:
    # A model built in Python, bypassing the loader's checks: STOP and HELP are missing.
    model = RulesFile.model_validate({
        "keywords": {"x": {"intent": "opt_out", "language": "en", "words": ["ENOUGH"]}},
        "replies": {"opt_out": {"en": "bye"}, "opt_in": {"en": "hi"}, "help": {"en": "?"}},
        "commands": {"opt_in": {"may_reverse": ["agent", "contact"]}},
    })
    compiled = compile_rules(model, b"x")
    engine = build_engine(compiled, evaluator)
    assert engine.decide(message("STOP")).transition is Transition.OPT_OUT
    assert engine.decide(message("stop all")).scope.value == "account"
    assert engine.decide(message("HELP")).transition is Transition.HELP
    assert not any(r.name == "command_opt_in" and ("row_by", "contact") in r.when
                   for r in compiled.rules)
    engine.close()


def test_a_ruleset_above_the_cap_is_refused(tmp_path: Path) -> None:
    # The file's cap on guards (rules.caps) now refuses such a file first, with its line...
    guards = "".join(f"  g{i}:\n    starts_with: [w{i}]\n" for i in range(MAX_TESTS // 2))
    text = edited("guards:\n", "guards:\n" + guards)
    found = problems(write(tmp_path, text))
    line = text.splitlines().index("guards:") + 2  # the line where the guards begin
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'rules.yml'}:{line} at guards:")
    assert f"holds {MAX_TESTS // 2 + 1} guards; at most {MAX_GUARDS} are allowed" in found[0]
    # ... and the compiler's cap on durable's equality tests still holds behind it.
    model = RulesFile.model_validate({
        **yaml.safe_load(shipped_text()),
        "guards": {f"g{i}": {"starts_with": [f"w{i}"]} for i in range(MAX_TESTS // 2)},
    })
    with pytest.raises(RulesError) as info:
        compile_rules(model, b"x")
    assert f"safe limit of {MAX_TESTS}" in str(info.value)


def test_per_sender_override_and_language_fallback() -> None:
    engine = build_engine(load_rules(SHIPPED), "python")
    short = engine.decide(message("HELP", sender="12345")).reply or ""
    assert short.startswith("Example Alerts")
    assert (engine.decide(message("HELP")).reply or "").startswith("Reply STOP")
    # the short code overrides only English: a Spanish HELP still gets the Spanish default
    assert (engine.decide(message("AYUDA", sender="12345")).reply or "").startswith("Responde")
    # no override for opt_in: the default text
    assert engine.decide(message("START", sender="12345", sender_state=_out())).reply == (
        "You are subscribed again. Reply STOP to unsubscribe, HELP for help.")


def _out():  # type: ignore[no-untyped-def]
    from tests.unit.test_rules_support import out

    return out("contact")
