"""Chinese titles and descriptions of the synthetic cases, and the category/source mixes they follow.

Templates take {v} (village or community), {a} and {b} (surnames, written 某 for privacy as case
registers do), {n} (a small number). Every text is invented.
"""

import numpy as np

from geo.demo.names import SURNAMES

# Category mix per kind (shares add up to 1): neighbour, land and family quarrels dominate disputes.
MIX = {
    "dispute": {
        "neighbour": 0.23,
        "land_forest": 0.19,
        "marriage_family": 0.17,
        "contract_debt": 0.10,
        "labour_wages": 0.08,
        "traffic_accident": 0.06,
        "property_mgmt": 0.05,
        "requisition_demolition": 0.04,
        "medical": 0.02,
        "dispute_other": 0.06,
    },
    "hazard": {
        "fire": 0.22,
        "road_traffic": 0.18,
        "building": 0.16,
        "gas": 0.12,
        "geo_flood": 0.10,
        "food_safety": 0.08,
        "hazmat": 0.04,
        "hazard_other": 0.10,
    },
    "appeal": {
        "public_service": 0.30,
        "infrastructure": 0.25,
        "environment": 0.20,
        "social_security": 0.15,
        "appeal_other": 0.10,
    },
}

# Source channels per kind: grid workers' patrols find most; courts, police and petition offices refer some.
SOURCE_MIX = {
    "dispute": {
        "patrol": 0.50,
        "walk_in": 0.15,
        "hotline": 0.12,
        "court": 0.08,
        "police": 0.09,
        "petition": 0.06,
    },
    "hazard": {"patrol": 0.75, "walk_in": 0.05, "hotline": 0.15, "police": 0.05},
    "appeal": {"patrol": 0.42, "walk_in": 0.15, "hotline": 0.33, "petition": 0.10},
}

SEVERITY_P = [0.56, 0.33, 0.09, 0.02]

TITLES = {
    "neighbour": [
        "{v}{a}某与{b}某因宅基地边界发生纠纷",
        "{v}{a}某与邻居{b}某排水沟渠纠纷",
        "{v}{a}某家违规堆放杂物引发邻里矛盾",
        "{v}两户村民因通行道路发生争执",
    ],
    "land_forest": [
        "{v}{a}某与{b}某承包地界纠纷",
        "{v}集体林地权属争议",
        "{v}{a}某耕地流转费用纠纷",
        "{v}村民组之间灌溉用水纠纷",
    ],
    "marriage_family": [
        "{v}{a}某夫妻离婚财产纠纷",
        "{v}{a}某家庭赡养老人纠纷",
        "{v}{a}某与{b}某婚约彩礼返还纠纷",
        "{v}{a}某兄弟分家析产纠纷",
    ],
    "labour_wages": [
        "{v}某工地{n}名务工人员讨要工资",
        "{v}{a}某追讨劳务报酬纠纷",
        "{v}某企业拖欠{n}名员工工资",
        "{v}{a}某工伤赔偿劳动争议",
    ],
    "property_mgmt": ["{v}某小区物业费收缴纠纷", "{v}某小区电梯维修费用分摊纠纷", "{v}某小区停车位管理纠纷"],
    "contract_debt": ["{v}{a}某与{b}某民间借贷纠纷", "{v}{a}某农资赊销欠款纠纷", "{v}{a}某房屋租赁合同纠纷"],
    "requisition_demolition": ["{v}征地补偿款分配纠纷", "{v}{a}某房屋拆迁安置纠纷", "{v}青苗补偿标准争议"],
    "medical": ["{v}{a}某与卫生院医疗费用纠纷", "{v}{a}某家属对诊疗结果有异议"],
    "traffic_accident": ["{v}路段两车剐蹭赔偿纠纷", "{v}{a}某与{b}某电动车交通事故赔偿纠纷"],
    "dispute_other": ["{v}{a}某与{b}某牲畜损害赔偿纠纷", "{v}{a}某与商户消费纠纷"],
    "fire": [
        "{v}某商铺消防通道堵塞",
        "{v}居民楼电动车楼道充电",
        "{v}某仓库灭火器过期",
        "{v}秸秆柴草堆放过近民房",
    ],
    "road_traffic": ["{v}路口缺少减速标志", "{v}村道护栏损坏", "{v}校门口路段车辆乱停"],
    "building": ["{v}{a}某老旧土坯房墙体开裂", "{v}某自建房私自加层", "{v}废弃厂房存在坍塌风险"],
    "gas": ["{v}某餐馆液化气瓶违规存放", "{v}居民燃气软管老化", "{v}某小区燃气管道锈蚀"],
    "geo_flood": ["{v}后山坡体出现裂缝", "{v}沟道淤堵影响行洪", "{v}河堤局部冲刷"],
    "hazmat": ["{v}某加油站安全设施不全", "{v}某企业化学品储存不规范"],
    "food_safety": ["{v}某小饭馆无证经营", "{v}学校周边售卖三无食品"],
    "hazard_other": ["{v}井盖缺失", "{v}高压线下违规搭建", "{v}废弃机井未封堵"],
    "public_service": ["{v}群众反映办事窗口排队时间长", "{v}居民咨询社保卡办理", "{v}村民反映就医不便"],
    "infrastructure": ["{v}路灯不亮", "{v}村道路面破损", "{v}自来水停水", "{v}通信信号差"],
    "environment": ["{v}垃圾清运不及时", "{v}养殖场异味扰民", "{v}污水排放到河道", "{v}施工噪音扰民"],
    "social_security": ["{v}{a}某申请低保救助", "{v}{a}某咨询养老保险待遇", "{v}{a}某申请临时救助"],
    "appeal_other": ["{v}群众反映流浪犬问题", "{v}村民咨询惠农补贴政策"],
}

_OPENERS = {
    "patrol": "网格员巡查发现：",
    "walk_in": "群众来访反映：",
    "hotline": "12345热线转办：",
    "court": "人民法院诉前委派调解：",
    "police": "派出所移交：",
    "petition": "信访部门转办：",
}
_CLOSERS = {
    "dispute": "经网格员和调解员现场调解，双方达成一致。",
    "hazard": "已通知责任单位限期整改。",
    "appeal": "已转相关部门办理并回访群众。",
}


def pick(rng: np.random.Generator, mix: dict[str, float], n: int) -> np.ndarray:
    """Draw `n` keys of a {key: share} mix."""
    keys = list(mix)
    p = np.array([mix[k] for k in keys])
    return np.array(keys, dtype=object)[rng.choice(len(keys), n, p=p / p.sum())]


def titles(
    rng: np.random.Generator, categories: np.ndarray, villages: list[str], workers_n: np.ndarray
) -> list[str]:
    """A Chinese title per case, from its category's templates."""
    sur_a = rng.choice(SURNAMES, len(categories))
    sur_b = rng.choice(SURNAMES, len(categories))
    picks = rng.random(len(categories))
    out = []
    for cat, v, a, b, p, n in zip(categories, villages, sur_a, sur_b, picks, workers_n, strict=True):
        options = TITLES[cat]
        out.append(options[int(p * len(options))].format(v=v, a=a, b=b, n=n))
    return out


def descriptions(
    kinds: np.ndarray, sources: np.ndarray, title_list: list[str], closed: np.ndarray
) -> list[str]:
    """A short Chinese description: channel, title, and how it ended (for closed cases)."""
    return [
        _OPENERS[s] + t + "。" + (_CLOSERS[k] if c else "正在处理中。")
        for k, s, t, c in zip(kinds, sources, title_list, closed, strict=True)
    ]
