"""Every branch of lowfreq.report.prose: the words follow the numbers' signs, counts and ranges."""
import math

import pytest

from lowfreq.report import prose


def test_count_agrees_with_the_number():
    assert prose.count(1, "model") == "1 model"
    assert prose.count(0, "model") == "0 models"
    assert prose.count(2, "model") == "2 models"
    assert prose.count(3, "analysis", "analyses") == "3 analyses"
    with pytest.raises(ValueError, match="negative"):
        prose.count(-1, "model")


def test_verb_agrees_with_the_count():
    assert prose.verb(1, "is", "are") == "is"
    assert prose.verb(0, "is", "are") == "are"
    assert prose.verb(5, "holds", "hold") == "hold"


def test_name_list_joins_and_truncates():
    assert prose.name_list([]) == ""
    assert prose.name_list(["a"]) == "a"
    assert prose.name_list(["a", "b"]) == "a and b"
    assert prose.name_list(["a", "b", "c"]) == "a, b and c"
    assert prose.name_list(list("abcdef"), limit=4) == "a, b, c, d and 2 more"
    assert prose.name_list(["a", "b"], conj="or") == "a or b"


@pytest.mark.parametrize("a, shape, ext", [
    (-1.2, "opens downward (an inverted U)", "maximum"),
    (1.72, "opens upward (a U, not an inverted U)", "minimum"),
    (0.0, "is a straight line", "no extremum"),
    (math.nan, "is undefined", "no extremum"),
])
def test_parabola_words_follow_the_sign(a, shape, ext):
    assert prose.opens(a) == shape
    assert prose.extremum(a) == ext


def test_inside_range_names_the_side():
    assert prose.inside_range(0.2, 0.1, 0.3).startswith("inside the data's range 0.100..0.300")
    assert prose.inside_range(-0.17, 0.058, 0.166).endswith("(below it)")
    assert prose.inside_range(0.5, 0.058, 0.166).endswith("(above it)")
    assert prose.inside_range(math.nan, 0, 1).startswith("undefined")
    assert prose.inside_range(0.1, 0.1, 0.3).startswith("inside")  # ends are inside


def test_order_phrase_zero_out_of_order_is_not_overlap():
    assert prose.order_phrase(0, 71) == "all 71 cross-group pairs are in order (the groups do not overlap)"
    assert prose.order_phrase(1, 71) == "1 of 71 cross-group pairs is out of order (the groups overlap)"
    assert prose.order_phrase(3, 71) == "3 of 71 cross-group pairs are out of order (the groups overlap)"
    assert prose.order_phrase(0, 0) == "no cross-group pairs to compare"
    with pytest.raises(ValueError):
        prose.order_phrase(5, 3)


def test_which_break_names_the_failures():
    assert prose.which_break(11, []) == "all 11 models"
    assert prose.which_break(10, ["blur_s3.0"]) == "10 of 11 models (all but blur_s3.0)"
    assert prose.which_break(1, [], what="models") == "the 1 model"


def test_direction_follows_the_sign():
    assert prose.direction(0.3) == "higher"
    assert prose.direction(-0.3) == "lower"
    assert prose.direction(0.0) == "the same"
    assert prose.direction(math.nan) == "undefined"
    assert prose.direction(2, up="rises", down="falls") == "rises"


def test_which_break_when_none_or_no_model_holds():
    assert prose.which_break(0, ["a", "b"]) == "none of the 2 models"
    assert prose.which_break(0, ["a"]) == "not the 1 model (a)"
    assert prose.which_break(0, []) == "no models"
    with pytest.raises(ValueError, match="negative"):
        prose.which_break(-1, [])


def test_tally_agrees_each_count_with_its_predicate():
    parts = [(10, "holds", "hold"), (0, "does not hold", "do not hold"), (1, "is not tested", "are not tested")]
    assert prose.tally(parts) == "10 hold and 1 is not tested"
    assert prose.tally(parts, skip_zero=False) == "10 hold, 0 do not hold and 1 is not tested"
    assert prose.tally([(1, "holds", "hold"), (2, "fails", "fail"), (3, "is open", "are open")]) == "1 holds, 2 fail and 3 are open"
    assert prose.tally([(0, "holds", "hold")]) == "none"
    with pytest.raises(ValueError, match="negative"):
        prose.tally([(-1, "holds", "hold")])


@pytest.mark.parametrize("state, words", [
    ("holds", "holds"), ("does not hold", "does not hold"), ("not tested", "is not tested"),
    ("not resolved at this tier", "is not resolved at this tier"),
])
def test_predicate_makes_a_verdict_a_verb_phrase(state, words):
    assert prose.predicate(state) == words


def test_capitalize_keeps_the_rest():
    assert prose.capitalize("all 11 models, base_ResNet") == "All 11 models, base_ResNet"
    assert prose.capitalize("") == ""
