"""Public ids: the alphabet, the length, and every character as likely as the others."""

from collections import Counter

from vaxnet.core.ids import ALPHABET, public_id


def test_it_makes_ids_of_the_length_asked_from_the_alphabet() -> None:
    ids = [public_id(length) for length in (1, 4, 12, 16) for _ in range(50)]

    assert [len(i) for i in ids] == [1] * 50 + [4] * 50 + [12] * 50 + [16] * 50
    assert set("".join(ids)) <= set(ALPHABET)


def test_it_uses_every_character_about_as_often() -> None:
    counts = Counter("".join(public_id() for _ in range(4000)))  # 48,000 characters

    assert set(counts) == set(ALPHABET)
    # 1,500 each on average; a biased pick (a character twice as likely) would be far out.
    assert 1200 < min(counts.values()) <= max(counts.values()) < 1800


def test_it_never_repeats_an_id() -> None:
    ids = [public_id() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)
