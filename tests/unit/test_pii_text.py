"""Masking personal data in residents' free text: what it catches and what it leaves alone."""

import pytest

from geodata.pii_text import mask_name, mask_text

CAUGHT = [
    ("邻居李明每天晚上很吵", "邻居李*每天晚上很吵"),
    ("业主：王大爷说的", "业主：王*爷说的"),
    ("张建国在楼道堆放杂物", "张**在楼道堆放杂物"),
    ("欧阳娜娜的车挡住消防通道", "欧阳**的车挡住消防通道"),
    ("王先生和刘阿姨", "*先生和*阿姨"),
    ("老王说没人收，小李也说", "老*说没人收，小*也说"),
    ("neighbour Li Ming plays loud music", "neighbour L*** M*** plays loud music"),
    ("Mr Wang and Mrs. Smith", "Mr W*** and Mrs. S***"),
    ("my neighbour wang li", "my neighbour w*** l***"),
    ("电话 139-1234-5678", "电话 139****5678"),
    ("身份证340102199001011234号", "身份证******************号"),
    ("旧证 340102900101123 呢", "旧证 *************** 呢"),
    ("邮箱a.b@x.cn", "邮箱***@x.cn"),
]
LEFT_ALONE = [
    "马路上有坑，高空抛物",
    "宁国路与金寨路交口路灯不亮",
    "向阳小区3栋",
    "小于5米的积水",
    "周末施工噪音很大，居民反映噪音扰民",
    "楼下垃圾堆了三天，请尽快处理，谢谢",
    "my neighbour is noisy",
    "<img src=x onerror=alert(1)>",
]


@pytest.mark.parametrize(("text", "masked"), CAUGHT)
def test_names_numbers_and_addresses_are_masked(text, masked):
    assert mask_text(text) == masked


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_everyday_words_are_left_alone(text):
    assert mask_text(text) == text


def test_known_names_in_either_order_and_compound_surnames():
    assert mask_text("我是赵秀英，秀英赵", ("赵", "秀英")) == "我是赵**，秀**"
    assert mask_text("Ming Li called", ("Li", "Ming")) == "M****** called"
    assert mask_name("司马光") == "司马*" and mask_name("李") == "李*"
    assert mask_text(None) is None and mask_text("") == ""
