"""Masking personal data in free text a resident wrote, before it is published.

:func:`mask_text` masks, in this order:

* resident ID numbers (18 characters: 17 digits and a digit or X; or the old 15 digits) —
  every character becomes ``*``;
* phone numbers (7 or more digits, with ``+``, spaces or dashes) — ``139****5678``;
* e-mail addresses — the local part becomes ``***``;
* names the caller knows (the reporter's own) — ``张**``;
* Chinese personal names:

  - after a cue word (邻居, 业主, 住户, 房东, 租客, 名叫, 姓名, 联系人 …): a common surname
    and the one or two Han characters after it (``邻居李明`` → ``邻居李*``);
  - a common surname followed by a form of address (先生, 女士, 阿姨, 大爷, 师傅 …) or
    preceded by 老/小/阿 (``王先生`` → ``*先生``, ``老王`` → ``老*``);
  - anywhere: a common surname (:data:`SURNAMES`, about 130 single and compound surnames,
    covering some 90 % of people) followed by one or two characters common in given names
    (:data:`GIVEN`), unless that is an everyday word (:data:`NOT_NAMES`, e.g. 马上, 高兴) or a
    place name (followed by 路, 街, 区, 小区 …): ``张建国`` → ``张**``;

* names in Latin letters after a cue (neighbour, Mr, Mrs, Ms, tenant, landlord, named …, or
  先生/女士/邻居 written before them): one or two capitalised words or a pinyin surname
  (``neighbour Li Ming`` → ``neighbour L*** M***``).

What it cannot catch: names with a rare surname and no cue, given names used alone (``建国``),
nicknames, Latin-letter names without a cue word, names split by spaces or punctuation, and
descriptions that identify a person without naming them (``the old man on the 3rd floor of
building 7``). It masks some words that look like names (``朱红``). This is why officers can
also hide a report's text (moderation) — masking is a first line, not the only one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# The most common Chinese surnames (百家姓 by frequency, 2020 census order roughly), and the
# compound ones still seen today.
SURNAMES_1 = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶"
    "贺毛郝顾龚邵万覃武钱戴严莫孔向常汤康易乔赖文施洪辛柯庄樊殷葛牛温"
)
SURNAMES_2 = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "端木",
    "独孤",
)
SURNAMES = frozenset(SURNAMES_1) | frozenset(SURNAMES_2)

# Characters common in Chinese given names (the top few hundred of name statistics).
GIVEN = frozenset(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧建国平刚桂文辉玲鑫鹏宇浩凯健俊帆帅旭宁"
    "波斌宏志红霞云飞玉兰梅琳莉萍燕婷雪晶倩颖欣怡佳嘉子涵轩睿博诗雨思梓萱晨昊然泽瑞翔"
    "海峰亮成春东林斌彬龙荣生新利清德良振兴祥福寿贵喜庆宝金银凤珍翠霖淑惠娥琴芬兵民"
    "晓小丹阳立永忠义仁礼信智勤俭安康乐长胜松柏青山水彦卫光辰月星悦琪璐瑶妍"
    "蕾薇莹蓉菲婉姗媛婕琳雯岚凌楠楷豪毅锋钢铭锦皓昕昭钰铮晗朗逸航远达力"
)

# Everyday words that begin with a surname and continue with a "given-name" character.
NOT_NAMES = frozenset(
    {
        "马上",
        "高兴",
        "白天",
        "方便",
        "常常",
        "文明",
        "文化",
        "高峰",
        "高新",
        "安全",
        "向东",
        "向明",
        "于是",
        "于一",
        "万一",
        "高明",
        "金属",
        "江水",
        "石子",
        "黄金",
        "黄山",
        "叶子",
        "孙子",
        "钱包",
        "史上",
        "温和",
        "康复",
        "严重",
        "龙头",
        "周一",
        "周日",
        "周末",
        "雷雨",
        "段长",
        "万元",
        "易燃",
        "戴上",
        "毛毯",
        "小于",
        "小康",
        "小孔",
        "老毛",
        "洪水",
        "韩国",
        "金华",
        "高强",
        "高亮",
        "马力",
        "武力",
        "马达",
        "胡子",
        "金子",
        "段子",
        "林立",
        "贺喜",
        "白银",
        "余波",
    }
)

# Words after which a name is expected (Chinese), and forms of address after a surname.
CUES_ZH = (
    "邻居",
    "业主",
    "住户",
    "房东",
    "房主",
    "租客",
    "租户",
    "居民",
    "名叫",
    "叫做",
    "姓名",
    "联系人",
    "举报人",
    "当事人",
    "我是",
    "患者",
)
TITLES = (
    "先生",
    "女士",
    "小姐",
    "师傅",
    "阿姨",
    "大爷",
    "大妈",
    "大娘",
    "大叔",
    "大哥",
    "大姐",
    "老师",
    "老板",
    "经理",
    "医生",
    "奶奶",
    "爷爷",
    "叔叔",
    "婶婶",
    "主任",
    "书记",
    "同志",
    "老太",
    "某",
)
PLACE_SUFFIX = "路街道巷弄区市县镇乡村里苑园庄府城桥站楼栋号院湖山河江门广场厦"
CUES_LATIN = (
    r"neighbou?rs?",
    r"Mrs?\.?",
    r"Ms\.?",
    r"Miss",
    r"Dr\.?",
    r"tenants?",
    r"landlord",
    r"landlady",
    r"owner",
    r"resident",
    r"named",
    r"called",
    r"name is",
    r"先生",
    r"女士",
    r"邻居",
    r"名叫",
)
_PINYIN = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao "
    "zheng liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu "
    "jiang cai du ye cheng su wei lv ding ren shen yao lu cui zhong tan fan liao shi jin "
    "jia xia fang zou xiong bai meng qin qiu hou yin xue yan duan lei long mao gu gong "
    "shao wan kong chang kang qiao"
)
PINYIN_SURNAMES = tuple(_PINYIN.split(" "))

_SURNAME = "(?:" + "|".join(SURNAMES_2) + f"|[{SURNAMES_1}])"
_HAN = r"[\u4e00-\u9fff]"
_GIVEN = "[" + "".join(sorted(GIVEN)) + "]"
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_PHONE = re.compile(r"(?<!\d)\+?\d[\d\- ]{5,}\d(?!\d)")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)")
_CUED = re.compile(
    "(?P<cue>"
    + "|".join(CUES_ZH)
    + r")(?P<sep>[：:\s]*)(?P<name>"
    + _SURNAME
    + _HAN
    + _GIVEN
    + "?)"
)
_TITLED = re.compile(
    "(?P<pre>[老小阿])?(?P<surname>"
    + _SURNAME
    + ")(?P<title>"
    + "|".join(TITLES)
    + ")"
    + "|(?P<pre2>[老小阿])(?P<surname2>"
    + _SURNAME
    + ")"
)
_FULL = re.compile(
    "(?P<surname>" + _SURNAME + ")(?P<given>" + _GIVEN + "{1,2})(?![" + PLACE_SUFFIX + "]|小区)"
)
_LATIN = re.compile(
    r"(?P<cue>\b(?:"
    + "|".join(CUES_LATIN)
    + r"))(?P<sep>[\s:,]+)(?P<name>[A-Z][a-z]+(?:[ \-][A-Z][a-z]+)?|(?i:(?:"
    + "|".join(PINYIN_SURNAMES)
    + r")\b(?:[ \-][a-z]+)?))"
)


def _stars(s: str) -> str:
    return "*" * len(s)


def mask_name(name: str) -> str:
    """张** style: the surname (one or two characters) kept, the rest masked."""
    keep = 2 if name[:2] in SURNAMES_2 else 1
    return name[:keep] + "*" * max(len(name) - keep, 1)


def _mask_latin(name: str) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: m.group()[0] + "***", name)


def _mask_full(m: re.Match[str]) -> str:
    word = m.group("surname") + m.group("given")
    if word in NOT_NAMES or word[:2] in NOT_NAMES:
        return word
    return mask_name(word)


def _mask_titled(m: re.Match[str]) -> str:
    if m.group("surname2"):
        if m.group() in NOT_NAMES:
            return m.group()
        return m.group("pre2") + "*"
    return (m.group("pre") or "") + "*" + m.group("title")


def mask_known(text: str, names: Iterable[str | None]) -> str:
    """Mask the given names (and the reporter's full name in either order) in ``text``."""
    parts = [n.strip() for n in names if n and n.strip()]
    whole = ["".join(parts), "".join(reversed(parts)), " ".join(parts), " ".join(reversed(parts))]
    for name in sorted({*whole, *parts}, key=len, reverse=True):
        if len(name) >= 2:
            text = text.replace(name, mask_name(name))
    return text


def mask_names(text: str) -> str:
    """Mask the personal names :func:`mask_text` recognises (see the module's notes)."""
    text = _CUED.sub(lambda m: m["cue"] + m["sep"] + mask_name(m["name"]), text)
    text = _LATIN.sub(lambda m: m["cue"] + m["sep"] + _mask_latin(m["name"]), text)
    text = _TITLED.sub(_mask_titled, text)
    return _FULL.sub(_mask_full, text)


def mask_numbers(text: str) -> str:
    """Mask ID numbers, phone numbers and e-mail addresses."""
    text = _ID_NUMBER.sub(lambda m: _stars(m.group()), text)
    text = _PHONE.sub(lambda m: _mask_phone(re.sub(r"\D", "", m.group())), text)
    return _EMAIL.sub(lambda m: "***@" + m.group(1), text)


def _mask_phone(digits: str) -> str:
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "****"


def mask_text(text: str | None, known_names: Iterable[str | None] = ()) -> str | None:
    """``text`` with ID numbers, phones, e-mails, ``known_names`` and recognised names masked."""
    if not text:
        return text
    return mask_names(mask_known(mask_numbers(text), known_names))
