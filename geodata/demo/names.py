"""Plausible Chinese place, organisation and person names (with pinyin where shown in English).

Everything here is written from general knowledge; nothing is copied from the shared data set.
The real districts and street offices (names and codes) come from the committed reference
files (:mod:`geodata.demo.geography`); where a street office lies is modelled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

# Anhui place names (Hefei names many roads after them) and plants, for communities and roads.
PLACES = (
    ("宁国", "Ningguo"), ("桐城", "Tongcheng"), ("六安", "Lu'an"), ("寿春", "Shouchun"),
    ("安庆", "Anqing"), ("芜湖", "Wuhu"), ("蒙城", "Mengcheng"), ("阜阳", "Fuyang"),
    ("宿州", "Suzhou"), ("濉溪", "Suixi"), ("黄山", "Huangshan"), ("潜山", "Qianshan"),
    ("望江", "Wangjiang"), ("金寨", "Jinzhai"), ("舒城", "Shucheng"), ("含山", "Hanshan"),
    ("太湖", "Taihu"), ("徽州", "Huizhou"), ("淮河", "Huaihe"), ("长江", "Changjiang"),
    ("巢湖", "Chaohu"), ("怀宁", "Huaining"), ("滁州", "Chuzhou"), ("池州", "Chizhou"),
    ("宣城", "Xuancheng"), ("绩溪", "Jixi"), ("祁门", "Qimen"), ("休宁", "Xiuning"),
    ("泾县", "Jingxian"), ("当涂", "Dangtu"), ("繁昌", "Fanchang"), ("南陵", "Nanling"),
    ("庐江", "Lujiang"), ("无为", "Wuwei"), ("凤台", "Fengtai"), ("霍山", "Huoshan"),
    ("岳西", "Yuexi"), ("太和", "Taihe"), ("界首", "Jieshou"), ("利辛", "Lixin"),
    ("涡阳", "Guoyang"), ("灵璧", "Lingbi"), ("砀山", "Dangshan"), ("定远", "Dingyuan"),
    ("凤阳", "Fengyang"), ("天长", "Tianchang"), ("杏花", "Xinghua"), ("桂花", "Guihua"),
    ("荷塘", "Hetang"), ("樱花", "Yinghua"), ("紫云", "Ziyun"), ("翠竹", "Cuizhu"),
    ("香樟", "Xiangzhang"), ("梧桐", "Wutong"), ("银杏", "Yinxing"), ("玉兰", "Yulan"),
)  # fmt: skip
_COMMUNITY_SUFFIX = (
    ("路", "lu"), ("里", "li"), ("苑", "yuan"), ("新村", "xincun"), ("花园", "huayuan"),
    ("家园", "jiayuan"), ("东", "dong"), ("西", "xi"),
)  # fmt: skip

_COMPOUND_A = (
    "锦绣", "阳光", "翡翠", "和谐", "幸福", "金色", "蓝天", "滨湖", "天鹅", "丽景", "东方",
    "香樟", "梧桐", "桂香", "兰亭", "清风", "明珠", "绿园", "春晖", "华府", "嘉园", "望湖",
    "怡景", "海棠", "书香", "文昌", "安居", "福润", "瑞祥", "康乐",
)  # fmt: skip
_COMPOUND_B = ("花园", "小区", "家园", "苑", "华庭", "公寓", "新村", "雅居", "名邸", "山庄")

SURNAMES = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
    "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
)  # fmt: skip
_GIVEN_M = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"  # noqa: E501
_GIVEN_F = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"  # noqa: E501

SHOP_KINDS = (
    "便利店", "超市", "水果店", "药店", "面馆", "理发店", "快餐店", "烟酒店", "五金店",
    "洗衣店", "早餐店", "茶饮店", "书店", "花店", "宠物店", "干洗店", "母婴店", "眼镜店",
)  # fmt: skip
SHOP_BRANDS = (
    "福满", "惠民", "佳佳", "鑫源", "好邻居", "乐购", "红叶", "百草", "老街", "聚福",
    "永兴", "万家", "安心", "鲜果", "小胡", "阿香", "德顺", "益康", "丰收", "金玉",
)  # fmt: skip
INDUSTRIES = (
    "信息科技", "电子科技", "网络技术", "建筑工程", "商贸", "物流", "文化传媒", "医疗器械",
    "新能源", "教育咨询", "餐饮管理", "智能装备", "环保科技", "软件", "设计咨询",
)  # fmt: skip
FIRM_WORDS = (
    "瑞丰", "恒信", "华泰", "中科", "卓越", "联创", "天润", "宏达", "新锐", "科讯",
    "安瑞", "皖通", "徽商", "博远", "启明", "智汇", "汇金", "凯旋", "众诚", "鼎盛",
)  # fmt: skip


def unique_names(
    rng: np.random.Generator,
    first: Sequence[tuple[str, str]],
    second: Sequence[tuple[str, str]],
) -> Iterator[tuple[str, str]]:
    """Endless distinct (zh, pinyin) combinations of ``first`` × ``second`` in random order,
    then numbered variants once the combinations are used up."""
    combos = [(a, b) for a in first for b in second]
    order = rng.permutation(len(combos)).tolist()
    round_ = 1
    while True:
        for i in order:
            (za, pa), (zb, pb) = combos[i]
            if round_ == 1:
                yield za + zb, pa + pb
            else:
                yield f"{za}{zb}{round_}", f"{pa}{pb} {round_}"
        round_ += 1


def community_names(rng: np.random.Generator) -> Iterator[tuple[str, str]]:
    """Community names, unique within one generator."""
    for zh, en in unique_names(rng, PLACES, _COMMUNITY_SUFFIX):
        yield zh + "社区", en + " Community"


def compound_name(rng: np.random.Generator) -> str:
    """A residential compound (小区) name."""
    return str(rng.choice(_COMPOUND_A)) + str(rng.choice(_COMPOUND_B))


def road_name(rng: np.random.Generator) -> str:
    """A road name for addresses."""
    return str(PLACES[int(rng.integers(len(PLACES)))][0]) + str(rng.choice(("路", "街", "大道")))


# Real road names of central Hefei (from memory; orientation only roughly right), for main lines.
ROADS_EW = (
    "长江路", "淮河路", "寿春路", "芜湖路", "望江路", "太湖路", "屯溪路", "绩溪路", "黄山路",
    "北一环路", "南一环路", "阜南路", "濉溪路", "亳州路", "安庆路", "九华山路", "东流路",
    "休宁路", "明光路", "胜利路", "凤阳路", "临泉路", "繁华大道", "南二环路", "北二环路",
)  # fmt: skip
ROADS_NS = (
    "金寨路", "徽州大道", "马鞍山路", "宿州路", "阜阳路", "蒙城路", "宁国路", "潜山路",
    "肥西路", "六安路", "桐城路", "含山路", "舒城路", "庐江路", "宣城路", "巢湖路",
    "合作化路", "怀宁路", "包河大道", "铜陵路", "颍上路", "清溪路", "西二环路", "东二环路",
)  # fmt: skip
_MINOR_SUFFIX = (("路", "lu"), ("街", "jie"))
_LANE_SUFFIX = (("巷", "xiang"), ("街", "jie"), ("路", "lu"))


def road_names(rng: np.random.Generator, taken: set[str], minor: bool) -> Iterator[str]:
    """Generated road names not in ``taken`` (which they are added to): 路/街 for through
    roads, also 巷 for lanes."""
    for zh, _ in unique_names(rng, PLACES, _LANE_SUFFIX if minor else _MINOR_SUFFIX):
        if zh not in taken:
            taken.add(zh)
            yield zh


def person_names(rng: np.random.Generator, male: np.ndarray) -> list[str]:
    """Chinese names (surname + one or two given characters) for people of the given sexes."""
    n = len(male)
    weights = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.7
    sur = rng.choice(len(SURNAMES), size=n, p=weights / weights.sum())
    two = rng.random(n) < 0.78
    g1 = rng.integers(0, 10**6, size=n)
    g2 = rng.integers(0, 10**6, size=n)
    out: list[str] = []
    for i in range(n):
        pool = _GIVEN_M if male[i] else _GIVEN_F
        given = pool[g1[i] % len(pool)] + (pool[g2[i] % len(pool)] if two[i] else "")
        out.append(SURNAMES[sur[i]] + given)
    return out


def phone_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """Mobile numbers of the 13x–19x ranges."""
    prefixes = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155,
                         156, 157, 158, 159, 166, 177, 180, 181, 182, 183, 186, 187, 188, 189,
                         191, 198, 199])  # fmt: skip
    p = rng.choice(prefixes, size=n)
    rest = rng.integers(0, 10**8, size=n)
    return [f"{a}{b:08d}" for a, b in zip(p.tolist(), rest.tolist(), strict=True)]
