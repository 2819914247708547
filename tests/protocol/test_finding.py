"""Finding a case (`protocol.finding`): what a search may be made of, how keys combine, who sees a case."""

from __future__ import annotations

from datetime import date

from models.case import Actor, ActorRole
from protocol.finding import Search, combined, may_see, parse_search
from protocol.identity import Match

TODAY = date(2026, 11, 30)


def test_a_name_and_date_of_birth_are_split_and_parsed() -> None:
    search, problems = parse_search(TODAY, name=" Rahman ,  Amina ", born="1998-03-14")
    assert problems == []
    assert search == Search(family_name="Rahman", given_names="Amina", born=date(1998, 3, 14))
    assert search.by == ["name"]


def test_blank_options_are_left_out_and_several_keys_are_kept() -> None:
    search, problems = parse_search(TODAY, crime_ref="WMP/26/11/00871", officer="  ", referral_id="R-1")
    assert problems == [] and search is not None
    assert search.by == ["crime_ref", "referral_id"]


def test_every_problem_is_named_at_once_without_echoing_what_was_typed() -> None:
    search, problems = parse_search(TODAY, name="Rahman Amina", born="14/03/1998", ho_ref="HO-ABC")
    assert search is None
    assert problems == [
        "--ho-ref is not a Home Office reference (e.g. HO-1234567).",
        '--name needs a family name and given names, with letters: --name "FAMILY, GIVEN" (e.g. "Begum, '
        'Nasrin").',
        "--born: write the date of birth as YYYY-MM-DD.",
    ]
    assert not any("Rahman" in p or "14/03" in p for p in problems)


def test_a_name_needs_a_date_of_birth_and_a_date_of_birth_a_name() -> None:
    assert parse_search(TODAY, name="Rahman, Amina")[1] == [
        "--name needs --born YYYY-MM-DD: a case is found by name and date of birth."
    ]
    [problem] = parse_search(TODAY, born="1998-03-14")[1]
    assert problem.startswith("--born needs --name")


def test_an_empty_search_or_an_impossible_date_is_refused() -> None:
    assert parse_search(TODAY)[1][0].startswith("Give at least one of")
    assert parse_search(TODAY, name="A, B", born="1998-02-30")[1] == ["--born is not a real date."]
    assert parse_search(TODAY, name="A, B", born="2027-01-01")[1] == ["--born is in the future."]
    assert parse_search(TODAY, crime_ref="x" * 201)[1] == ["--crime-ref is longer than 200 characters."]


def test_a_case_must_match_every_key_and_is_only_as_strong_as_its_weakest() -> None:
    by_name = {"MVP-A": Match.possible, "MVP-B": Match.exact, "MVP-C": Match.exact}
    by_crime = {"MVP-A": Match.exact, "MVP-B": Match.exact, "MVP-D": Match.exact}
    assert combined([by_name, by_crime]) == {"MVP-A": Match.possible, "MVP-B": Match.exact}
    assert combined([{"MVP-A": Match.none}]) == {}
    assert combined([]) == {}


def test_police_see_only_their_own_forces_cases_and_enforcement_none() -> None:
    assert may_see(Actor(role=ActorRole.police, id="WMP-1", force="WMP"), "WMP")
    assert not may_see(Actor(role=ActorRole.police, id="GMP-1", force="GMP"), "WMP")
    assert may_see(Actor(role=ActorRole.officer, id="IE-1"), "WMP")
    assert may_see(Actor(role=ActorRole.supervisor, id="IE-S"), "GMP")
    assert not may_see(Actor(role=ActorRole.enforcement, id="ENF-1"), "WMP")
