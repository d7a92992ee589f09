"""MinHash (one permutation hashing), banding and exact Jaccard (numpy only)."""

from __future__ import annotations

import numpy as np
import pytest

from cleaning.minhash import (
    DEFAULT_NUM_PERM,
    candidate_probability,
    choose_banding,
    estimated_jaccard,
    from_signature_bytes,
    jaccard,
    shingle_hashes,
    shingle_keys,
    signature,
    signature_bytes,
    signature_bytes_of,
    signature_matrix,
    signatures,
    text_jaccard,
)

TEXT = "上海地铁十八号线二期工程今天正式开工建设该线路全长约十四公里共设车站九座建成后将连接浦东新区多个大型居住社区"


def _shingle_strings(text: str, k: int = 5) -> set[str]:
    return {text[i : i + k] for i in range(len(text) - k + 1)}


def test_shingle_keys_are_one_per_distinct_five_character_shingle():
    assert shingle_keys(TEXT).size == len(_shingle_strings(TEXT))
    assert shingle_keys("今天天气").size == 0
    assert shingle_keys("ababababab").size == len({"ababa", "babab"})


def test_exact_jaccard_of_keys_equals_jaccard_of_shingle_strings():
    edited = TEXT.replace("正式开工建设", "开工")
    left, right = _shingle_strings(TEXT), _shingle_strings(edited)
    expected = len(left & right) / len(left | right)
    assert text_jaccard(TEXT, edited) == pytest.approx(expected)
    assert jaccard(shingle_keys(TEXT), shingle_keys(edited)) == pytest.approx(expected)


def test_text_jaccard_is_zero_when_a_text_cannot_be_shingled():
    assert text_jaccard(TEXT, "四个字") == 0.0 and text_jaccard(None, TEXT) == 0.0
    assert text_jaccard(TEXT, TEXT) == 1.0


def test_signature_agreement_estimates_jaccard():
    rng = np.random.default_rng(1)
    alphabet = np.array(list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"))
    base = "".join(rng.choice(alphabet, 3000))
    edited = base[:2400] + "".join(rng.choice(alphabet, 600))
    truth = jaccard(shingle_keys(base), shingle_keys(edited))
    left, right = signatures([base, edited], num_perm=256)
    assert left is not None and right is not None
    assert estimated_jaccard(left, right) == pytest.approx(truth, abs=0.08)


def test_signatures_are_deterministic_and_none_for_unshingleable_text():
    first, empty, short = signatures([TEXT, "", "四个字符"])
    assert empty is None and short is None
    assert first is not None and first.dtype == np.int64 and first.shape == (DEFAULT_NUM_PERM,)
    assert (first >= 0).all() and (first < 2**32).all()
    np.testing.assert_array_equal(first, signatures([TEXT])[0])


def test_signature_is_the_same_whatever_the_order_of_the_keys():
    keys = shingle_keys(TEXT * 50)
    np.testing.assert_array_equal(signature(keys, 16, seed=3), signature(keys[::-1].copy(), 16, seed=3))


def test_a_batch_gives_each_text_the_signature_it_has_alone():
    rng = np.random.default_rng(2)
    alphabet = np.array(list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"))
    # Long and short texts (short ones leave bins empty), None, and one too short to shingle, across chunks.
    texts = ["".join(rng.choice(alphabet, n)) for n in rng.integers(5, 40_000, 60)] + [None, "四个字", TEXT]
    matrix, has_signature = signature_matrix(texts)
    for text, row, has in zip(texts, matrix, has_signature, strict=True):
        alone = signature(shingle_hashes(text)) if text else None
        assert has == (alone is not None)
        if alone is not None:
            np.testing.assert_array_equal(row, alone)
    assert signature_bytes_of(texts) == [signature_bytes(s) for s in signatures(texts)]


def test_short_texts_fill_every_bin_and_stay_comparable():
    short = "上海地铁十八号线二期工程今天开工"  # 12 shingles for 64 bins
    first, edited = signatures([short, short[:-1] + "建"])
    assert first is not None and edited is not None
    assert (first < 2**32).all() and len(set(first.tolist())) <= 12  # borrowed, never invented
    truth = jaccard(shingle_keys(short), shingle_keys(short[:-1] + "建"))
    assert estimated_jaccard(first, edited) == pytest.approx(truth, abs=0.25)


def test_the_seed_changes_the_signature():
    keys = shingle_keys(TEXT)
    assert not np.array_equal(signature(keys, seed=1), signature(keys, seed=2))


@pytest.mark.parametrize(("num_perm", "expected", "at_0_3"), [(128, (21, 6), 0.02), (DEFAULT_NUM_PERM, (12, 5), 0.03)])
def test_banding_for_threshold_0_8_keeps_almost_every_pair_at_the_threshold(num_perm, expected, at_0_3):
    bands, rows = choose_banding(num_perm, 0.8)
    assert (bands, rows) == expected
    assert candidate_probability(0.8, bands, rows) >= 0.99
    assert candidate_probability(0.3, bands, rows) < at_0_3
    # One more row per band would lose more than 1% of pairs at the threshold.
    assert candidate_probability(0.8, num_perm // (rows + 1), rows + 1) < 0.99


def test_banding_rejects_a_threshold_outside_0_1():
    with pytest.raises(ValueError):
        choose_banding(128, 0)


def test_repeated_shingles_do_not_change_the_signature_and_bytes_round_trip():
    text = TEXT * 3  # every shingle repeated
    from_distinct = signature(shingle_keys(text))
    from_all = signature(shingle_hashes(text))
    np.testing.assert_array_equal(from_distinct, from_all)
    stored = signature_bytes(from_all)
    assert stored is not None and len(stored) == 4 * DEFAULT_NUM_PERM
    np.testing.assert_array_equal(from_signature_bytes(stored), from_all)
    assert signature_bytes(None) is None
