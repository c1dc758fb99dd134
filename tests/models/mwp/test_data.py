"""MWP data: preprocessing rules, both file formats, bad files, number mapping, vocabulary, training pool."""

import json
from fractions import Fraction

import pytest

from kexue_hw.models.mwp.data import (
    SPECIALS,
    DataFormatError,
    Problem,
    Vocab,
    caret_to_power,
    data_summary,
    find_shared_data,
    load_problems,
    DROP_REASONS,
    map_numbers,
    map_text,
    mapping_stats,
    mixed_number_to_sum,
    number_expression,
    parse_answer,
    percent_to_fraction,
    preprocess_equation,
    preprocess_text,
    ratio_to_division,
    remove_redundant_brackets,
    square_to_round_brackets,
    strip_x_equals,
    text_numbers,
    training_pool,
    unbracket_single_numbers,
    unbracket_text_fractions,
    unmap_equation,
)
from kexue_hw.models.mwp.expression import ExpressionError, evaluate

# ----------------------------------------------------------------------------------------- preprocessing rules


@pytest.mark.parametrize(
    "before, after",
    [("25%", "(25/100)"), ("1-20%", "1-(20/100)"), ("12.5%*8", "(12.5/100)*8"), ("(1+20)%", "(1+20)/100"), ("3", "3")],
)
def test_percent_to_fraction(before, after):
    assert percent_to_fraction(before) == after


@pytest.mark.parametrize(
    "before, after",
    [
        ("2(1/3)", "(2+1/3)"),
        ("x=5(2/3)*3", "x=(5+2/3)*3"),
        ("1/5(1/2)+1", "1/(5+1/2)+1"),
        ("12(7/8)+274.2", "(12+7/8)+274.2"),
        ("(1/3)", "(1/3)"),  # a plain fraction is no mixed number
        ("2*(1/3)", "2*(1/3)"),
    ],
)
def test_mixed_number_to_sum(before, after):
    assert mixed_number_to_sum(before) == after


@pytest.mark.parametrize(
    "before, after",
    [
        ("全书的(1/6)，第二天", "全书的1/6，第二天"),
        ("占((1)/(4))．", "占1/4．"),
        ("(3)班有40人", "(3)班有40人"),  # not a fraction
        ("(1/2+1/3)", "(1/2+1/3)"),
    ],
)
def test_unbracket_text_fractions(before, after):
    assert unbracket_text_fractions(before) == after


def test_preprocess_text_turns_mixed_numbers_into_sums_first():
    assert preprocess_text("运来1(5/6)吨，又运来(1/3)吨") == "运来(1+5/6)吨，又运来1/3吨"


@pytest.mark.parametrize("before, after", [("4:5", "4/5"), ("(1/3):75%", "(1/3)/75%"), ("3：2", "3/2")])
def test_ratio_to_division(before, after):
    assert ratio_to_division(before) == after


def test_caret_to_power():
    assert caret_to_power("3.14*(2^2-1^2)") == "3.14*(2**2-1**2)"


@pytest.mark.parametrize(
    "before, after", [("x=(11-1)*2", "(11-1)*2"), ("X = 3", "3"), ("(60*45)/100", "(60*45)/100"), ("x=x", "x")]
)
def test_strip_x_equals(before, after):
    assert strip_x_equals(before) == after


def test_square_to_round_brackets():
    assert square_to_round_brackets("[490-50*(4+1)]/4") == "(490-50*(4+1))/4"


@pytest.mark.parametrize(
    "before, after", [("3((1)/(2))", "3(1/2)"), ("((5))", "5"), ("((2.5))*2", "2.5*2"), ("(1+2)", "(1+2)")]
)
def test_unbracket_single_numbers(before, after):
    assert unbracket_single_numbers(before) == after


@pytest.mark.parametrize(
    "before, after",
    [
        ("(1+2)+(3*4)", "1+2+3*4"),
        ("(1+2)*3", "(1+2)*3"),
        ("1-(2-3)", "1-(2-3)"),
        ("1-(1/5)-(1/4)", "1-1/5-1/4"),
        ("((3))", "3"),
        ("120/(1-(25/100))", "120/(1-25/100)"),
        ("2**(1+1)", "2**(1+1)"),
        ("(2*3)**2", "(2*3)**2"),
        ("(-2)**2", "(-2)**2"),
        ("6/(3*2)", "6/(3*2)"),
        ("1*(5-2)", "1*5-2"),  # greedy by value: the pair goes when the value happens to survive
    ],
)
def test_remove_redundant_brackets(before, after):
    assert remove_redundant_brackets(before) == after
    assert evaluate(after) == evaluate(before)


def test_remove_redundant_brackets_needs_a_valid_expression():
    with pytest.raises(ExpressionError):
        remove_redundant_brackets("1/(2-2)")


@pytest.mark.parametrize(
    "ans, value",
    [
        ("20", 20),
        ("-410.0", -410),
        ("(11/20)", Fraction(11, 20)),
        ("25%", Fraction(1, 4)),
        ("2(1/3)", Fraction(7, 3)),
        ("2((1)/(3))", Fraction(7, 3)),  # Math23K's mixed numbers with extra brackets
        ("((3)/(4))", Fraction(3, 4)),
        ("5+(2/3)", Fraction(17, 3)),
        ("160/(1-20%)", 200),
        (12, 12),
        (0.5, Fraction(1, 2)),
    ],
)
def test_parse_answer(ans, value):
    assert parse_answer(ans) == value


@pytest.mark.parametrize("ans", ["", "约20", "1/0", None, True])
def test_parse_answer_refuses(ans):
    with pytest.raises(ValueError):
        parse_answer(ans)


def test_preprocess_equation_applies_all_rules():
    assert preprocess_equation("x=[1-2(1/2)%]:3^2") == "(1-(2+1/2)/100)/3**2"
    assert preprocess_equation("x=3((1)/(2))+(5)") == "(3+1/2)+5"


# ----------------------------------------------------------------------------------------- file formats


def record(id_, text, equation, ans):
    return {"id": id_, "original_text": text, "equation": equation, "ans": ans}


RECORDS = [
    # kept
    record("1", "小明有5个苹果，又买了3个，现在有几个？", "x=5+3", "8"),
    record("2", "一本书看了(1/6)，还剩120页，全书多少页？", "x=120/(1-(1/6))", "144"),
    record("3", "打8折是80%，原价50元，现价？", "x=50*80%", "40"),
    record("4", "运来2(1/3)吨，又运来3倍，共多少吨？", "x=2(1/3)*(3+1)", "9((1)/(3))"),
    record("5", "甲乙之比4:5，甲40，乙？", "x=40/4*5", "50"),
    record("6", "边长2米的正方形面积？", "x=2^2", "4"),
    record("7", "[24-4]/5的值", "x=[24-4]/5", "4"),
    record("8", "一半是多少？总数是7", "x=7/2", "(7/2)"),
    record("9", "增加了25%后是150，原来？", "x=150/(1+25%)", "120"),
    # dropped
    record("10", "答案写错了", "x=200*(1+20%)*(1-80%)", "192"),
    record("11", "方程不能算", "x=80千米/小时", "80"),
    record("12", "除以零", "x=1/(2-2)", "1"),
    record("13", "答案看不懂", "x=1", "约1"),
    {"id": "14", "original_text": "没有方程", "ans": "1"},
]
KEPT, DROPPED = 9, {"answer_mismatch": 1, "bad_equation": 2, "bad_answer": 1, "missing_field": 1}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_stream(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False, indent=1) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("writer, fmt", [(write_jsonl, "jsonl"), (write_stream, "json-stream")])
def test_both_formats_are_detected_and_counted(tmp_path, writer, fmt):
    path = writer(tmp_path / "problems.json", RECORDS)
    problems, report = load_problems(path)
    assert report.format == fmt
    assert (report.read, report.kept, report.dropped) == (len(RECORDS), KEPT, DROPPED)
    assert report.read == report.kept + sum(report.dropped.values())
    assert [p.id for p in problems] == [str(i) for i in range(1, KEPT + 1)]
    for p in problems:
        assert not p.equation.startswith("x=")
        assert evaluate(p.equation) == p.answer
    by_id = {p.id: p for p in problems}
    assert by_id["2"].text == "一本书看了1/6，还剩120页，全书多少页？"
    assert by_id["2"].equation == "120/(1-1/6)"
    assert by_id["3"].equation == "50*80/100"
    assert by_id["4"].answer == Fraction(28, 3)
    assert by_id["6"].equation == "2**2"
    assert by_id["7"].equation == "(24-4)/5"


def test_drop_reasons_are_the_documented_ones(tmp_path):
    assert set(DROPPED) <= set(DROP_REASONS)
    _, report = load_problems(write_jsonl(tmp_path / "ape.json", RECORDS))
    with pytest.raises(KeyError):
        report.drop("because")


def test_data_summary(tmp_path):
    path = write_jsonl(tmp_path / "ape.json", RECORDS)
    summary = data_summary(path)
    assert summary == {"read": len(RECORDS), "kept": KEPT, "dropped": DROPPED}
    json.dumps(summary)  # what the CLI prints


def test_stream_without_separating_newlines(tmp_path):
    path = tmp_path / "m23k.json"
    path.write_text("".join(json.dumps(r, ensure_ascii=False, indent=2) for r in RECORDS[:3]), encoding="utf-8")
    problems, report = load_problems(path)
    assert report.format == "json-stream" and report.kept == 3


def test_empty_file(tmp_path):
    for content in ["", "\n  \n"]:
        path = tmp_path / "empty.json"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(DataFormatError, match="empty file"):
            load_problems(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match="cannot read"):
        load_problems(tmp_path / "nope.json")


def test_neither_format_names_malformed_lines(tmp_path):
    path = tmp_path / "sentiment.data"
    path.write_text("".join(f"第{i}句话\t1\n" for i in range(8)), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"8 of 8 non-blank lines .*first at lines 1, 2, 3, 4, 5, \.\.\.\)"):
        load_problems(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00\x01{")
    with pytest.raises(DataFormatError, match="not UTF-8"):
        load_problems(path)


def test_jsonl_with_malformed_lines(tmp_path):
    lines = [json.dumps(r, ensure_ascii=False) for r in RECORDS[:4]]
    lines[1] = lines[1][:-5]  # truncated
    lines.insert(3, "not json")
    path = tmp_path / "ape.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"JSON lines.* 2 of 5 lines are malformed \(first at lines 2, 4\)"):
        load_problems(path)
    problems, report = load_problems(path, strict=False)
    assert report.kept == 3 and report.dropped == {"malformed_json": 2} and report.malformed_lines == [2, 4]


def test_stream_with_malformed_record(tmp_path):
    path = write_stream(tmp_path / "m23k.json", RECORDS[:3])
    text = path.read_text(encoding="utf-8")
    second = text.index("\n{") + 1
    broken = text[:second] + text[second:].replace('"equation"', "equation", 1)
    path.write_text(broken, encoding="utf-8")
    line = text[:second].count("\n") + 1  # where the second record starts
    with pytest.raises(DataFormatError, match=rf"1 of 3 records are malformed \(first at lines {line}\)"):
        load_problems(path)
    problems, report = load_problems(path, strict=False)
    assert [p.id for p in problems] == ["1", "3"]


def test_json_without_problem_fields(tmp_path):
    path = write_jsonl(tmp_path / "other.json", [{"text": "a", "label": 1}] * 3)
    with pytest.raises(DataFormatError, match="no record has the fields original_text, equation, ans"):
        load_problems(path)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(RECORDS[0], ensure_ascii=False).encode() + b"\n")
    assert load_problems(path)[1].kept == 1


# ----------------------------------------------------------------------------------------- number mapping


def problem(text, equation):
    text, equation = preprocess_text(text), remove_redundant_brackets(preprocess_equation(equation))
    return Problem(id="t", text=text, equation=equation, answer=evaluate(equation))


def test_text_numbers():
    assert text_numbers("第1天看了1/6，又看了24.5页，是前两天的150%") == ["1", "1/6", "24.5", "150%"]
    assert text_numbers("看了1/6", split_fractions=True) == ["1", "6"]


def test_map_numbers_plain():
    m = map_numbers(problem("小明有5个苹果，又买了3个，现在有几个？", "x=5+3"))
    assert m.numbers == ["5", "3"]
    assert m.source[:4] == ["小", "明", "有", "N0"] and "N1" in m.source and "5" not in m.source
    assert m.target == ["N0", "+", "N1"]


def test_map_numbers_uses_each_occurrence_and_first_match():
    m = map_numbers(problem("3个班，每班3组，每组12人，还有1个老师", "x=3*3*12+1"))
    assert m.numbers == ["3", "3", "12", "1"]
    assert m.target == ["N0", "*", "N0", "*", "N2", "+", "N3"]


def test_map_numbers_constants_stay_tokens():
    m = map_numbers(problem("圆的半径是3米，面积是多少？", "x=3.14*3^2"))
    assert m.target == ["3.14", "*", "N0", "**", "2"]


def test_map_numbers_fraction_and_percent_by_value():
    m = map_numbers(problem("看了全书的(1/6)，又看了25%，还剩28页", "x=28/(1-(1/6)-25%)"))
    assert m.numbers == ["1/6", "25%", "28"]
    assert m.target == ["N2", "/", "(", "1", "-", "N0", "-", "N1", ")"]
    m = map_numbers(problem("涨了80%", "x=0.8*2"))
    assert m.target == ["N0", "*", "2"]  # 0.8 equals the text's 80%


def test_map_numbers_keeps_value_when_a_fraction_cannot_be_a_placeholder():
    # 12/3/4 is (12/3)/4: replacing '3/4' by the text's 3/4 would change the value, so the parts stay
    m = map_numbers(problem("12除以3，再除以4；另有3/4", "x=12/3/4"))
    assert evaluate(unmap_equation(m.target, m.numbers)) == Fraction(1)
    assert "N3" not in m.target


def test_split_fractions_maps_the_parts():
    p = problem("1300/600的商是2时，余数=？", "x=1300-600*2")
    assert map_numbers(p).target == ["1300", "-", "600", "*", "N1"]
    m = map_numbers(p, split_fractions=True)
    assert m.numbers == ["1300", "600", "2"] and m.target == ["N0", "-", "N1", "*", "N2"]


def test_mixed_number_in_text_maps_to_its_parts():
    m = map_numbers(problem("运来1(5/6)吨，运了3次", "x=1(5/6)*3"))
    assert m.numbers == ["1", "5/6", "3"]
    assert evaluate(unmap_equation(m.target, m.numbers)) == Fraction(11, 2)
    assert set(m.target) <= {"N0", "N1", "N2", "+", "*", "(", ")"}


def test_map_text_matches_map_numbers_after_loading(tmp_path):
    raw = RECORDS[3]["original_text"]  # a mixed number in the text
    problems, _ = load_problems(write_jsonl(tmp_path / "ape.json", RECORDS[3:4]))
    m = map_numbers(problems[0])
    assert map_text(raw) == (m.source, m.numbers)
    assert map_text("看了(1/6)", split_fractions=True)[1] == ["1", "6"]


@pytest.mark.parametrize(
    "number, expr",
    [("12", "12"), ("0.5", "0.5"), ("80%", "(80/100)"), ("1/6", "(1/6)"), ("05", "5"), ("00", "0"), ("1.05", "1.05")],
)
def test_number_expression(number, expr):
    assert number_expression(number) == expr


def test_map_numbers_without_an_equation():
    """A problem to solve has no equation yet: only the source side is mapped."""
    m = map_numbers(Problem(id="q", text=preprocess_text("看了(1/6)，又看了25%"), equation="", answer=Fraction(0)))
    assert (m.target, m.numbers) == ([], ["1/6", "25%"])


def test_unmap_equation():
    assert unmap_equation(["N0", "*", "(", "1", "-", "N1", ")"], ["120", "25%"]) == "120*(1-(25/100))"
    assert unmap_equation(["N0", "/", "N1"], ["1", "1/6"]) == "1/(1/6)"
    assert evaluate(unmap_equation(["N0", "**", "2"], ["3"])) == 9


@pytest.mark.parametrize(
    "tokens",
    [["N0", "N1"], ["N0", "*", "*", "N1"], ["N5"], ["N0", "+", "<unk>"], ["x"], ["1", "2"]],
)
def test_unmap_equation_never_hides_a_broken_sequence(tokens):
    with pytest.raises(ExpressionError):
        evaluate(unmap_equation(tokens, ["3", "4"]))


@pytest.mark.parametrize("split", [False, True])
def test_map_unmap_round_trip_on_the_fixture(tmp_path, split):
    problems, _ = load_problems(write_jsonl(tmp_path / "ape.json", RECORDS))
    for p in problems:
        m = map_numbers(p, split_fractions=split)
        assert evaluate(unmap_equation(m.target, m.numbers)) == p.answer, p
        assert [t for t in m.source if t.startswith("N")] == [f"N{i}" for i in range(len(m.numbers))]


def test_mapping_stats(tmp_path):
    problems, _ = load_problems(write_jsonl(tmp_path / "ape.json", RECORDS))
    stats = mapping_stats(problems, constants={"1"})
    # only problem 8 ('一半': 7/2) needs a number the text lacks; in 2^2 the exponent is the text's 2
    assert stats == {"problems": KEPT, "targets_with_other_numbers": 1, "share": 1 / KEPT, "other_numbers": {"2": 1}}
    assert mapping_stats(problems, constants={"1", "2"})["targets_with_other_numbers"] == 0


# ----------------------------------------------------------------------------------------- vocabulary


def test_vocab_build_encode_decode_json():
    vocab = Vocab.build([["a", "b", "a"], ["c", "a", "b"]], reserved=["N0", "N1", "a"])
    assert vocab.tokens[: len(SPECIALS)] == list(SPECIALS)
    assert vocab.tokens[len(SPECIALS) :] == ["a", "b", "c", "N0", "N1"]
    ids = vocab.encode(["a", "zzz"], bos=True, eos=True)
    assert ids == [vocab.bos_id, vocab.stoi["a"], vocab.unk_id, vocab.eos_id]
    assert vocab.decode(ids + [vocab.stoi["b"]]) == ["a", "<unk>"]
    assert vocab.decode(ids, strip=False) == ["<bos>", "a", "<unk>", "<eos>"]
    again = Vocab.from_json(vocab.to_json())
    assert again == vocab and again.hash() == vocab.hash()
    assert Vocab.build([["a"], ["b", "b"]], min_count=2).tokens[len(SPECIALS) :] == ["b"]


def test_vocab_hash_is_stable_and_order_sensitive():
    a = Vocab(list(SPECIALS) + ["x", "y"])
    assert a.hash() == Vocab(list(SPECIALS) + ["x", "y"]).hash()
    assert a.hash() != Vocab(list(SPECIALS) + ["y", "x"]).hash()
    assert len(a.hash()) == 16


def test_vocab_refuses_bad_input():
    with pytest.raises(ValueError, match="special"):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="twice"):
        Vocab(list(SPECIALS) + ["a", "a"])
    with pytest.raises(ValueError, match="saved vocabulary"):
        Vocab.from_json("[1, 2]")
    with pytest.raises(ValueError, match="outside"):
        Vocab(list(SPECIALS)).decode([99])


# ----------------------------------------------------------------------------------------- training pool


def test_training_pool_dedups_excludes_and_splits(tmp_path):
    first = write_jsonl(tmp_path / "a.json", RECORDS[:5])
    second = write_stream(tmp_path / "b.json", [RECORDS[1], RECORDS[5], RECORDS[6]] + RECORDS[7:9])
    test = [problem(RECORDS[8]["original_text"], RECORDS[8]["equation"])]
    pool = training_pool(first, second, dev_size=2, seed=1, exclude=test)
    train, dev = pool
    assert len(train) + len(dev) == 5 + 3 and len(dev) == 2
    assert pool.report["sources"][1] == {
        "name": str(second), "problems": 5, "duplicates": 1, "excluded": 1, "used": 3,
    }
    texts = [p.text for p in train + dev]
    assert len(set(texts)) == len(texts)
    assert training_pool(first, second, dev_size=2, seed=1, exclude=test).dev == dev  # seeded
    with pytest.raises(ValueError, match="dev_size"):
        training_pool(first, dev_size=99)


# ----------------------------------------------------------------------------------------- the real files

DATA = find_shared_data()


def test_find_shared_data_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KEXUE_HW_DATA", str(tmp_path))
    assert find_shared_data() == tmp_path
    monkeypatch.setenv("KEXUE_HW_DATA", str(tmp_path / "missing"))
    assert find_shared_data() is None


def shared(relative):
    if DATA is None or not (DATA / relative).exists():
        pytest.skip(f"../shared/data/{relative} not present")
    return DATA / relative


def test_ape210k_valid_keeps_4999_of_5000():
    problems, report = load_problems(shared("ape210k/valid.ape.json"))
    assert (report.read, report.kept, report.dropped) == (5000, 4999, {"answer_mismatch": 1})
    for p in problems:
        m = map_numbers(p)
        assert evaluate(unmap_equation(m.target, m.numbers)) == p.answer, p.id


def test_math23k_test_keeps_all_1000():
    problems, report = load_problems(shared("math23k/math23k_test.json"))
    assert (report.read, report.kept, report.format) == (1000, 1000, "json-stream")
    for p in problems:
        m = map_numbers(p)
        assert evaluate(unmap_equation(m.target, m.numbers)) == p.answer, p.id
