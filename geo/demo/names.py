"""Word lists for the synthetic demo: people, places, case titles. All invented, none real (except townships).

Only the 15 township names of Yongdeng and their approximate seats are real; every village,
community, small grid, person, phone number and case text is made up by `geo.demo.build`.
"""

import numpy as np

# (name, lon, lat, weight): Yongdeng's real townships at approximate WGS84 seats. The weight says
# how many people live around the seat (the county seat 城关镇 and the Zhuanglang valley most).
YONGDENG_TOWNSHIPS = [
    ("城关镇", 103.26, 36.73, 6.0),
    ("柳树镇", 103.31, 36.66, 2.5),
    ("中堡镇", 103.20, 36.84, 2.0),
    ("武胜驿镇", 103.15, 36.96, 1.5),
    ("红城镇", 103.42, 36.53, 2.0),
    ("苦水镇", 103.36, 36.40, 2.0),
    ("大同镇", 103.30, 36.60, 2.0),
    ("龙泉寺镇", 103.50, 36.66, 1.0),
    ("树屏镇", 103.62, 36.40, 1.0),
    ("连城镇", 102.88, 36.58, 1.5),
    ("河桥镇", 102.82, 36.72, 1.5),
    ("七山乡", 103.02, 36.42, 0.6),
    ("通远乡", 103.06, 36.70, 0.8),
    ("坪城乡", 102.98, 36.90, 0.6),
    ("民乐乡", 103.48, 36.88, 0.8),
]

# Rivers people live along (approximate WGS84 polylines): the Zhuanglang (庄浪河) down the middle
# and the Datong (大通河) in the west.
YONGDENG_RIVERS = [
    [
        (103.10, 37.00),
        (103.15, 36.96),
        (103.20, 36.84),
        (103.26, 36.73),
        (103.31, 36.66),
        (103.30, 36.60),
        (103.38, 36.53),
        (103.36, 36.40),
        (103.38, 36.22),
    ],
    [(102.72, 36.98), (102.82, 36.72), (102.88, 36.58), (102.85, 36.38)],
]

SURNAMES = list(
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌海燕鹏飞俊凤琴云亮成晓东宁"
)

_PLACE_HEADS = list("李王张刘陈杨赵马苏周何罗高韩魏孔薛闫满金石红黄青白黑东西南北大小上下前后新老中")
_PLACE_MIDS = list("家") + list("河山沟湾岘坪川台滩堡寨峡岭窑泉庄屯塬梁渠")
_PLACE_TAILS = list("湾沟坪台滩堡寨岭庄梁渠泉峡川口")
_COMMUNITY = [
    "东街",
    "西街",
    "南街",
    "北街",
    "新华",
    "和平",
    "建设",
    "解放",
    "振兴",
    "幸福",
    "团结",
    "永安",
    "文化",
    "滨河",
    "民主",
    "胜利",
    "光明",
    "朝阳",
    "长城",
    "兴隆",
    "育才",
    "春晖",
    "锦绣",
    "金城",
    "康乐",
]
_TOWN_HEADS = list("红黄青白石金新古清永安平太兴宁龙凤马牛羊柳杨桃杏水河川山峡岭")
_TOWN_TAILS = list("川城堡泉湾台坪滩岭峡屯关集河寺沟")

# Lanzhou-style landline area codes by city prefix (for facility phones).
AREA_CODES = {
    "6201": "0931",
    "6202": "0937",
    "6203": "0935",
    "6204": "0943",
    "6205": "0938",
    "6206": "0935",
    "6207": "0936",
    "6208": "0933",
    "6209": "0937",
    "6210": "0934",
    "6211": "0932",
    "6212": "0939",
    "6229": "0930",
    "6230": "0941",
}


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic Chinese names: a surname plus one or two given-name characters."""
    sur = rng.choice(SURNAMES, n)
    g1 = rng.choice(GIVEN_CHARS, n)
    g2 = rng.choice(GIVEN_CHARS, n)
    two = rng.random(n) < 0.7
    return [s + a + (b if t else "") for s, a, b, t in zip(sur, g1, g2, two, strict=True)]


def phones(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic mobile numbers 1[3-9]xxxxxxxxx."""
    second = rng.integers(3, 10, n)
    rest = rng.integers(0, 10**9, n)
    return [f"1{a}{b:09d}" for a, b in zip(second, rest, strict=True)]


def landline(rng: np.random.Generator, adcode: str) -> str:
    """A synthetic landline in the county's area code."""
    return f"{AREA_CODES.get(adcode[:4], '0931')}-{int(rng.integers(6_000_000, 8_000_000))}"


def id_numbers(rng: np.random.Generator, adcode: str, n: int) -> list[str]:
    """Synthetic 18-character resident ID numbers with a valid check digit (GB 11643)."""
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    days = rng.integers(0, 60 * 365, n)
    births = (np.datetime64("1950-01-01") + days.astype("timedelta64[D]")).astype(str)
    seq = rng.integers(0, 1000, n)
    out = []
    for birth, s in zip(births, seq, strict=True):
        body = f"{adcode}{birth.replace('-', '')}{s:03d}"
        check = "10X98765432"[int(np.dot(weights, [int(c) for c in body])) % 11]
        out.append(body + check)
    return out


def place_names(rng: np.random.Generator, n: int, suffix: str, taken: set[str]) -> list[str]:
    """`n` distinct synthetic village names (李家湾村, 红岘村...), not in `taken` (which grows)."""
    out: list[str] = []
    while len(out) < n:
        head = _PLACE_HEADS[int(rng.integers(len(_PLACE_HEADS)))]
        mid = _PLACE_MIDS[int(rng.integers(len(_PLACE_MIDS)))]
        tail = _PLACE_TAILS[int(rng.integers(len(_PLACE_TAILS)))] if rng.random() < 0.35 else ""
        name = head + mid + tail + suffix
        if name not in taken and len(name) <= 6:
            taken.add(name)
            out.append(name)
    return out


def community_names(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """`n` distinct synthetic urban community names (新华社区...)."""
    pool = [c + "社区" for c in _COMMUNITY if c + "社区" not in taken]
    order = rng.permutation(len(pool))
    picked = [pool[i] for i in order[:n]]
    picked += place_names(rng, n - len(picked), "社区", taken)
    taken.update(picked)
    return picked


def township_names(rng: np.random.Generator, n: int) -> list[str]:
    """Synthetic township names for counties without real ones: the seat is 城关镇, the rest 某某镇/乡."""
    names, taken = ["城关镇"], {"城关"}
    while len(names) < n:
        stem = (
            _TOWN_HEADS[int(rng.integers(len(_TOWN_HEADS)))]
            + _TOWN_TAILS[int(rng.integers(len(_TOWN_TAILS)))]
        )
        if stem not in taken:
            taken.add(stem)
            names.append(stem + ("镇" if rng.random() < 0.65 else "乡"))
    return names


def short_name(township: str) -> str:
    """The township name without 镇/乡 (for 城关派出所, 红城人民法庭...)."""
    return township[:-1] if township[-1] in "镇乡" else township
